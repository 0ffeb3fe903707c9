using System.Runtime.CompilerServices;
using System.Threading.Channels;
using Microsoft.Extensions.AI;

namespace Dbrx.Extensions.AI;

/// <summary>
/// Several answers to one prompt (<see cref="DbrxChatOptionsExtensions.WithChoices"/>), streamed together: the first
/// choice starts alone and the others once its prompt is in, so they start from its keys and values (a copy within the
/// cache) rather than prefilling it again; each samples on its own. Every update says its choice
/// (<see cref="DbrxChatOptionsExtensions.ChoiceIndexKey"/>, and a message id of its own, so a collected
/// <see cref="ChatResponse"/> holds one assistant message per choice); the usage comes once, at the end: the prompt
/// counted once, the generated tokens of all choices.
/// </summary>
internal static class ChatChoices
{
    /// <param name="count">How many choices.</param>
    /// <param name="choice">Starts choice i's stream.</param>
    /// <param name="cancellationToken">Cancels every choice.</param>
    public static async IAsyncEnumerable<ChatResponseUpdate> StreamAsync(int count, Func<int, CancellationToken, IAsyncEnumerable<ChatResponseUpdate>> choice, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var channel = Channel.CreateUnbounded<ChatResponseUpdate>(new UnboundedChannelOptions { SingleReader = true });
        var usages = new UsageDetails?[count];
        string? responseId = null;
        var firstStarted = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);

        async Task Run(int index)
        {
            await foreach (ChatResponseUpdate update in choice(index, stop.Token).WithCancellation(stop.Token).ConfigureAwait(false))
            {
                firstStarted.TrySetResult();
                responseId ??= update.ResponseId;
                update.ResponseId = responseId;
                update.MessageId = $"{update.MessageId}-{index}";
                (update.AdditionalProperties ??= [])[DbrxChatOptionsExtensions.ChoiceIndexKey] = index;
                if (update.Contents.OfType<UsageContent>().FirstOrDefault() is { } usage)
                {
                    usages[index] = usage.Details;
                    update.Contents.Remove(usage);
                }
                await channel.Writer.WriteAsync(update, stop.Token).ConfigureAwait(false);
            }
        }

        async Task RunAll()
        {
            try
            {
                Task first = Run(0);
                await Task.WhenAny(first, firstStarted.Task).ConfigureAwait(false);
                await Task.WhenAll([first, .. Enumerable.Range(1, count - 1).Select(Run)]).ConfigureAwait(false);
                channel.Writer.TryComplete();
            }
            catch (Exception e)
            {
                await stop.CancelAsync().ConfigureAwait(false);
                channel.Writer.TryComplete(e);
            }
        }

        Task all = RunAll();
        try
        {
            await foreach (ChatResponseUpdate update in channel.Reader.ReadAllAsync(cancellationToken).ConfigureAwait(false))
                yield return update;
        }
        finally
        {
            // The reader left early (or failed): stop the choices still running.
            await stop.CancelAsync().ConfigureAwait(false);
            await all.ConfigureAwait(false);
        }
        yield return new ChatResponseUpdate(ChatRole.Assistant, [new UsageContent(Total(usages))]) { ResponseId = responseId };
    }

    /// <summary>The prompt once (every choice has the same), the generated tokens of all choices.</summary>
    private static UsageDetails Total(UsageDetails?[] usages)
    {
        UsageDetails first = usages[0] ?? new UsageDetails();
        long output = usages.Sum(u => u?.OutputTokenCount ?? 0);
        return new UsageDetails
        {
            InputTokenCount = first.InputTokenCount,
            CachedInputTokenCount = first.CachedInputTokenCount,
            OutputTokenCount = output,
            TotalTokenCount = (first.InputTokenCount ?? 0) + output,
        };
    }
}
