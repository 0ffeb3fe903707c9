using System.CommandLine;
using System.Diagnostics;
using Dbrx.Inference.Checkpoints;
using Spectre.Console;

namespace Dbrx.Cli;

/// <summary>
/// Shows long work over a checkpoint's tensors (loading, <c>init</c>, <c>quantize</c>) on stderr, so stdout stays the
/// command's output: a live bar when stderr is a terminal; one start line and one end line when it is not (logs, CI);
/// nothing with <c>--quiet</c>.
/// </summary>
internal static class CliProgress
{
    /// <summary>Runs <paramref name="work"/>, showing its progress as <paramref name="what"/> ("loading /models/x").</summary>
    public static T Run<T>(ParseResult parse, string what, Func<IProgress<DbrxTensorProgress>?, T> work)
    {
        if (parse.GetValue(CliOptions.Quiet))
            return work(null);
        if (Console.IsErrorRedirected)
        {
            Console.Error.WriteLine($"dbrx: {what} ...");
            var last = new LastReport();
            var clock = Stopwatch.StartNew();
            T result = work(last);
            string size = last.Value is { } done ? $": {done.TensorsDone} tensors, {ByteSize.Format(done.BytesDone)}" : "";
            Console.Error.WriteLine($"dbrx: {what} done in {clock.Elapsed.TotalSeconds:F1} s{size}");
            return result;
        }

        var console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(Console.Error) });
        return console.Progress()
            .AutoClear(false)
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new TransferSpeedColumn(), new RemainingTimeColumn())
            .Start(context =>
            {
                var task = context.AddTask(Markup.Escape(what), maxValue: 1);
                var result = work(new TaskReport(task, what));
                task.Value = task.MaxValue;
                return result;
            });
    }

    /// <summary>Runs <paramref name="work"/> with progress; for work without a result.</summary>
    public static void Run(ParseResult parse, string what, Action<IProgress<DbrxTensorProgress>?> work) =>
        Run<object?>(parse, what, progress =>
        {
            work(progress);
            return null;
        });

    /// <summary>Keeps the latest report, for the end line.</summary>
    private sealed class LastReport : IProgress<DbrxTensorProgress>
    {
        public DbrxTensorProgress? Value { get; private set; }

        public void Report(DbrxTensorProgress value) => Value = value;
    }

    /// <summary>Moves the bar: bytes done of total, and the tensor and device in the description.</summary>
    private sealed class TaskReport(ProgressTask task, string what) : IProgress<DbrxTensorProgress>
    {
        public void Report(DbrxTensorProgress value)
        {
            task.MaxValue = Math.Max(1, value.BytesTotal);
            task.Value = value.BytesDone;
            task.Description = Markup.Escape($"{what} ({value.TensorsDone}/{value.TensorsTotal} tensors, {value.Device})");
        }
    }
}
