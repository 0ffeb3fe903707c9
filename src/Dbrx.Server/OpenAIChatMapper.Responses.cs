using System.Text.Json;
using Dbrx.Extensions.AI;
using Dbrx.Server.Wire;
using Microsoft.Extensions.AI;

namespace Dbrx.Server;

// The response direction: a ChatResponse or its updates to a completion or its chunks, a choice per answer the
// request asked for (n), each with its log-probabilities when asked for.
internal static partial class OpenAIChatMapper
{
    /// <summary>The answer as a completion: the updates of each choice (<see cref="DbrxChatOptionsExtensions.GetChoiceIndex"/>) make its message.</summary>
    public static ChatCompletion ToCompletion(IReadOnlyList<ChatResponseUpdate> updates, string id, string model, long created, bool logProbabilities)
    {
        var choices = ByChoice(updates)
            .Select(choice =>
            {
                ChatResponse response = choice.ToChatResponse();
                var calls = response.Messages.SelectMany(m => m.Contents).OfType<FunctionCallContent>().Select(ToolCall).ToList();
                string text = response.Text;
                return new ChatCompletionChoice
                {
                    Index = choice.Key,
                    Message = new AssistantMessageWire { Content = calls.Count > 0 && text.Length == 0 ? null : text, ToolCalls = calls.Count > 0 ? calls : null },
                    Logprobs = logProbabilities ? LogProbabilities(choice.SelectMany(u => u.GetLogProbabilities())) : null,
                    FinishReason = FinishReason(response.FinishReason),
                };
            })
            .ToList();
        return new ChatCompletion { Id = id, Created = created, Model = model, Choices = choices, Usage = UsageOf(updates) };
    }

    /// <summary>
    /// The updates of each answer the request asked for (n), by choice index
    /// (<see cref="DbrxChatOptionsExtensions.GetChoiceIndex"/>), in order; an update with only the usage belongs to none.
    /// </summary>
    internal static IEnumerable<IGrouping<int, ChatResponseUpdate>> ByChoice(IReadOnlyList<ChatResponseUpdate> updates) =>
        updates.Where(u => u.MessageId is not null || u.FinishReason is not null || u.Contents.Any(c => c is not UsageContent))
            .GroupBy(u => u.GetChoiceIndex())
            .OrderBy(g => g.Key);

    /// <summary>The request's usage, from the last update that carries it; null when none does.</summary>
    internal static UsageWire? UsageOf(IReadOnlyList<ChatResponseUpdate> updates) =>
        updates.SelectMany(u => u.Contents).OfType<UsageContent>().LastOrDefault()?.Details is { } usage ? Usage(usage) : null;

    /// <summary>
    /// The chunks one update becomes: its choice's text or tool calls (that choice's first chunk also carries the
    /// role), with the log-probabilities of its tokens when asked for; then, on the choice's last update, a chunk with
    /// the finish reason; and, for the update with the usage when asked for, one with the usage and no choices.
    /// </summary>
    public static IEnumerable<ChatCompletionChunk> ToChunks(ChatResponseUpdate update, ChunkStream stream)
    {
        int index = update.GetChoiceIndex();
        ChunkStream.Choice state = stream.Of(index);
        ChatCompletionChunk Chunk(DeltaWire delta, LogprobsWire? logprobs = null, string? finishReason = null) => new()
        {
            Id = stream.Id,
            Created = stream.Created,
            Model = stream.Model,
            Choices = [new ChunkChoice { Index = index, Delta = delta, Logprobs = logprobs, FinishReason = finishReason }],
        };

        // The usage that several choices end with belongs to no choice: it only makes the usage chunk.
        bool content = update.MessageId is not null || update.FinishReason is not null || update.Contents.Any(c => c is not UsageContent);
        string text = string.Concat(update.Contents.OfType<TextContent>().Select(t => t.Text));
        var calls = update.Contents.OfType<FunctionCallContent>()
            .Select(call => new ToolCallDeltaWire { Index = state.ToolCalls++, Id = call.CallId, Function = ToolCall(call).Function! })
            .ToList();
        IReadOnlyList<DbrxChatTokenLogProbability> tokens = update.GetLogProbabilities();
        LogprobsWire? logprobs = stream.LogProbabilities && tokens.Count > 0 ? LogProbabilities(tokens) : null;
        if (content && (!state.RoleSent || text.Length > 0 || calls.Count > 0 || logprobs is not null))
        {
            yield return Chunk(new DeltaWire
            {
                Role = state.RoleSent ? null : "assistant",
                Content = text.Length > 0 || (!state.RoleSent && calls.Count == 0) ? text : null,
                ToolCalls = calls.Count > 0 ? calls : null,
            }, logprobs);
            state.RoleSent = true;
        }
        if (update.FinishReason is { } reason)
            yield return Chunk(new DeltaWire(), finishReason: FinishReason(reason));
        if (stream.IncludeUsage && update.Contents.OfType<UsageContent>().FirstOrDefault() is { } usage)
            yield return new ChatCompletionChunk { Id = stream.Id, Created = stream.Created, Model = stream.Model, Choices = [], Usage = Usage(usage.Details) };
    }

    /// <summary>OpenAI's <c>logprobs</c> object: each token's text, log-probability, bytes and top alternatives.</summary>
    private static LogprobsWire LogProbabilities(IEnumerable<DbrxChatTokenLogProbability> tokens) => new()
    {
        Content = [.. tokens.Select(t => new TokenLogprobWire
        {
            Token = t.Token,
            Logprob = t.LogProbability,
            Bytes = [.. t.Bytes.Select(b => (int)b)],
            TopLogprobs = [.. t.TopAlternatives.Select(a => new TopLogprobWire { Token = a.Token, Logprob = a.LogProbability, Bytes = [.. a.Bytes.Select(b => (int)b)] })],
        })],
    };

    private static ToolCallWire ToolCall(FunctionCallContent call) => new()
    {
        Id = call.CallId,
        Type = "function",
        Function = new FunctionCallWire { Name = call.Name, Arguments = ArgumentsText(call) },
    };

    /// <summary>A call's arguments as OpenAI writes them: a compact JSON object in a string.</summary>
    internal static string ArgumentsText(FunctionCallContent call) => JsonSerializer.Serialize(call.Arguments ?? new Dictionary<string, object?>(), CompactArguments);

    private static string? FinishReason(ChatFinishReason? reason) => reason switch
    {
        null => null,
        var r when r == ChatFinishReason.Stop => "stop",
        var r when r == ChatFinishReason.Length => "length",
        var r when r == ChatFinishReason.ToolCalls => "tool_calls",
        var r when r == ChatFinishReason.ContentFilter => "content_filter",
        var r => r.Value.Value,
    };

    internal static UsageWire Usage(UsageDetails usage) => new()
    {
        PromptTokens = usage.InputTokenCount ?? 0,
        CompletionTokens = usage.OutputTokenCount ?? 0,
        TotalTokens = usage.TotalTokenCount ?? (usage.InputTokenCount ?? 0) + (usage.OutputTokenCount ?? 0),
        PromptTokensDetails = new PromptTokensDetailsWire { CachedTokens = usage.CachedInputTokenCount ?? 0 },
    };
}
