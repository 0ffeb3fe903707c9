using System.CommandLine;
using Dbrx.Inference.Checkpoints;
using Dbrx.Inference.Configuration;

namespace Dbrx.Cli;

/// <summary>
/// Runs a command's body and turns failures into one line on stderr and exit code 1; the stack trace only with
/// <c>--verbose</c>, since most failures are the user's input (a bad folder, option or id) rather than bugs.
/// </summary>
internal static class CliAction
{
    public static Func<ParseResult, CancellationToken, Task<int>> Run(Func<ParseResult, CancellationToken, Task<int>> body) =>
        async (parse, cancellation) =>
        {
            try
            {
                return await body(parse, cancellation);
            }
            catch (OperationCanceledException) when (cancellation.IsCancellationRequested)
            {
                Console.Error.WriteLine("dbrx: cancelled");
                return 130;
            }
            catch (Exception e)
            {
                bool expected = e is DbrxConfigException or CheckpointException or ArgumentException or IOException or InvalidOperationException or UnauthorizedAccessException;
                Console.Error.WriteLine($"dbrx: error: {MessageOf(e)}");
                if (parse.GetValue(CliOptions.Verbose))
                    Console.Error.WriteLine(e);
                else if (!expected)
                    Console.Error.WriteLine($"({e.GetType().Name}; run with --verbose for the stack trace)");
                return 1;
            }
        };

    /// <summary>The message without the " (Parameter 'x')" that ArgumentException appends for programmers.</summary>
    private static string MessageOf(Exception e) =>
        e is ArgumentException { ParamName: { } name } ? e.Message.Replace($" (Parameter '{name}')", "") : e.Message;

    public static Func<ParseResult, CancellationToken, Task<int>> Run(Func<ParseResult, int> body) =>
        Run((parse, _) => Task.FromResult(body(parse)));
}
