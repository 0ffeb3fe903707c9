using System.Diagnostics;
using System.Runtime.CompilerServices;
using Microsoft.Extensions.AI;

namespace Dbrx.Rag.Bench;

/// <summary>
/// Middleware between the function-invocation loop and the DBRX client that times each model call to its first text
/// (prefill and one token, for an answer call) and keeps its usage: the per-call view a whole turn's timing hides.
/// </summary>
internal sealed class CallTimer(IChatClient inner) : DelegatingChatClient(inner)
{
    public sealed record Call(double FirstTextMilliseconds, UsageDetails? Usage);

    public List<Call> Calls { get; } = [];

    public override async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        long start = Stopwatch.GetTimestamp();
        double first = double.NaN;
        UsageDetails? usage = null;
        await foreach (ChatResponseUpdate update in base.GetStreamingResponseAsync(messages, options, cancellationToken))
        {
            if (double.IsNaN(first) && update.Text.Length > 0)
                first = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
            usage = update.Contents.OfType<UsageContent>().FirstOrDefault()?.Details ?? usage;
            yield return update;
        }
        Calls.Add(new Call(double.IsNaN(first) ? Stopwatch.GetElapsedTime(start).TotalMilliseconds : first, usage));
    }
}
