using System.CommandLine;
using Microsoft.Data.Sqlite;

namespace Dbrx.Rag.Commands;

/// <summary>
/// Runs a command's body and turns failures into one line on stderr and exit code 1 (the stack trace with
/// <c>--verbose</c>). Ctrl+C cancels the command (exit code 130) unless <c>interruptible</c> is false, for
/// commands that handle it themselves (chat stops the current answer, not the chat).
/// </summary>
internal static class RagAction
{
    public static Func<ParseResult, CancellationToken, Task<int>> Run(Func<ParseResult, CancellationToken, Task<int>> body, bool interruptible = true) =>
        async (parse, cancellation) =>
        {
            using var interrupt = new CancellationTokenSource();
            using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellation, interrupt.Token);
            ConsoleCancelEventHandler onCancel = (_, e) => { e.Cancel = true; interrupt.Cancel(); };
            if (interruptible)
                Console.CancelKeyPress += onCancel;
            try
            {
                return await body(parse, linked.Token);
            }
            catch (OperationCanceledException) when (linked.IsCancellationRequested)
            {
                Console.Error.WriteLine("dbrx-rag: cancelled");
                return 130;
            }
            catch (Exception e) when (e is ArgumentException or IOException or InvalidDataException or InvalidOperationException or UnauthorizedAccessException or SqliteException)
            {
                Console.Error.WriteLine($"dbrx-rag: error: {e.Message}");
                if (parse.GetValue(RagOptions.Verbose))
                    Console.Error.WriteLine(e);
                return 1;
            }
            finally
            {
                Console.CancelKeyPress -= onCancel;
            }
        };
}
