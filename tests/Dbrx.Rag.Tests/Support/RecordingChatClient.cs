using Dbrx.Extensions.AI;
using Microsoft.Extensions.AI;

namespace Dbrx.Rag.Tests.Support;

/// <summary>
/// Sits between the function-invocation loop and the DBRX client and passes everything through, recording each model
/// call: its prompt length as <see cref="DbrxChatClient.CountPromptTokens"/> counts it, and its usage as the client reported it.
/// </summary>
public sealed class RecordingChatClient(IChatClient inner) : DelegatingChatClient(inner)
{
    public sealed record Call(IReadOnlyList<ChatMessage> Messages, ChatOptions? Options, int CountedPromptTokens, UsageDetails? Usage);

    private readonly List<Call> calls = [];

    public IReadOnlyList<Call> Calls
    {
        get
        {
            lock (calls)
                return [.. calls];
        }
    }

    public override async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        List<ChatMessage> sent = [.. messages];
        int counted = InnerClient.GetService<DbrxChatClient>()!.CountPromptTokens(sent, options);
        UsageDetails? usage = null;
        await foreach (var update in base.GetStreamingResponseAsync(sent, options, cancellationToken))
        {
            usage = update.Contents.OfType<UsageContent>().FirstOrDefault()?.Details ?? usage;
            yield return update;
        }
        lock (calls)
            calls.Add(new Call(sent, options, counted, usage));
    }

    public override async Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default) =>
        await GetStreamingResponseAsync(messages, options, cancellationToken).ToChatResponseAsync(cancellationToken);

    public void Clear()
    {
        lock (calls)
            calls.Clear();
    }
}
