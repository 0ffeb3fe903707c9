using System.CommandLine;
using Dbrx.Inference.Checkpoints;
using Dbrx.Inference.Configuration;
using Dbrx.Inference.Generation;
using Microsoft.Extensions.Options;

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
                bool expected = e is DbrxConfigException or CheckpointException or ArgumentException or OptionsValidationException or IOException or InvalidOperationException or UnauthorizedAccessException;
                Console.Error.WriteLine($"dbrx: error: {MessageOf(e)}");
                if (parse.GetValue(CliOptions.Verbose))
                    Console.Error.WriteLine(e);
                else if (!expected)
                    Console.Error.WriteLine($"({e.GetType().Name}; run with --verbose for the stack trace)");
                return 1;
            }
        };

    /// <summary>
    /// The message in the tool's terms: a prompt that does not fit names the flags that change that; other messages
    /// name flags instead of the libraries' option names (<see cref="FlagNames"/>) and lose the " (Parameter 'x')" that
    /// ArgumentException appends for programmers.
    /// </summary>
    private static string MessageOf(Exception e) => e switch
    {
        DbrxContextLengthException { PromptTokensAtLeast: true } c =>
            $"The prompt needs at least {c.PromptTokens:N0} tokens (refused before encoding) and the answer {c.MaxNewTokens:N0}: more than the context of {c.ContextLength:N0} tokens. Shorten the prompt, raise --context-length (up to the model's max_seq_len), or pass --truncate to keep only its newest tokens.",
        DbrxContextLengthException c =>
            $"The prompt has {c.PromptTokens:N0} tokens and --max-new-tokens is {c.MaxNewTokens:N0}: together {(long)c.PromptTokens + c.MaxNewTokens:N0}, beyond the context of {c.ContextLength:N0} tokens. Shorten the prompt, lower --max-new-tokens, raise --context-length (up to the model's max_seq_len), or pass --truncate to drop the oldest prompt tokens.",
        ArgumentException { ParamName: { } name } => FlagNames.Rewrite(e.Message.Replace($" (Parameter '{name}')", "")),
        _ => FlagNames.Rewrite(e.Message),
    };

    public static Func<ParseResult, CancellationToken, Task<int>> Run(Func<ParseResult, int> body) =>
        Run((parse, _) => Task.FromResult(body(parse)));
}
