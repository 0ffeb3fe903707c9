using System.Text.Json.Serialization;

namespace Dbrx.Server.Wire;

/// <summary>A whole answer: <c>{"object": "chat.completion", ...}</c>.</summary>
internal sealed class ChatCompletion
{
    public required string Id { get; init; }
    public string Object => "chat.completion";
    public required long Created { get; init; }
    public required string Model { get; init; }
    public required List<ChatCompletionChoice> Choices { get; init; }
    public UsageWire? Usage { get; init; }
}

/// <summary>One choice of an answer (one per <c>n</c>).</summary>
internal sealed class ChatCompletionChoice
{
    public int Index { get; init; }
    public required AssistantMessageWire Message { get; init; }

    /// <summary>The tokens' log-probabilities when the request asked for them (<c>logprobs</c>); null otherwise.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.Never)]
    public LogprobsWire? Logprobs { get; init; }

    [JsonIgnore(Condition = JsonIgnoreCondition.Never)]
    public string? FinishReason { get; init; }
}

/// <summary>The answer message: text (null when the model only called tools) and tool calls.</summary>
internal sealed class AssistantMessageWire
{
    public string Role => "assistant";

    [JsonIgnore(Condition = JsonIgnoreCondition.Never)]
    public string? Content { get; init; }

    [JsonIgnore(Condition = JsonIgnoreCondition.Never)]
    public string? Refusal => null;

    public List<ToolCallWire>? ToolCalls { get; init; }
}

/// <summary>One server-sent event of a streamed answer: <c>{"object": "chat.completion.chunk", ...}</c>.</summary>
internal sealed class ChatCompletionChunk
{
    public required string Id { get; init; }
    public string Object => "chat.completion.chunk";
    public required long Created { get; init; }
    public required string Model { get; init; }
    public required List<ChunkChoice> Choices { get; init; }
    public UsageWire? Usage { get; init; }
}

/// <summary>What a chunk adds to one choice, and how it ended (in its last chunk only).</summary>
internal sealed class ChunkChoice
{
    public int Index { get; init; }
    public required DeltaWire Delta { get; init; }

    /// <summary>The log-probabilities of the chunk's tokens when the request asked for them; null otherwise.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.Never)]
    public LogprobsWire? Logprobs { get; init; }

    [JsonIgnore(Condition = JsonIgnoreCondition.Never)]
    public string? FinishReason { get; init; }
}

/// <summary>The role (first chunk), new text, or new tool calls.</summary>
internal sealed class DeltaWire
{
    public string? Role { get; init; }
    public string? Content { get; init; }
    public List<ToolCallDeltaWire>? ToolCalls { get; init; }
}

/// <summary>A tool call in a chunk; each call is sent whole, in one chunk, with its position among the answer's calls.</summary>
internal sealed class ToolCallDeltaWire
{
    public int Index { get; init; }
    public required string Id { get; init; }
    public string Type => "function";
    public required FunctionCallWire Function { get; init; }
}

/// <summary>Token counts; <c>prompt_tokens_details.cached_tokens</c> are prompt tokens taken from an earlier request's cache.</summary>
internal sealed class UsageWire
{
    public long PromptTokens { get; init; }
    public long CompletionTokens { get; init; }
    public long TotalTokens { get; init; }
    public required PromptTokensDetailsWire PromptTokensDetails { get; init; }
}

/// <summary>The cached part of the prompt.</summary>
internal sealed class PromptTokensDetailsWire
{
    public long CachedTokens { get; init; }
}

/// <summary>OpenAI's <c>logprobs</c> object of a choice: one entry per token.</summary>
internal sealed class LogprobsWire
{
    public required List<TokenLogprobWire> Content { get; init; }

    [JsonIgnore(Condition = JsonIgnoreCondition.Never)]
    public object? Refusal => null;
}

/// <summary>A token, its natural-log probability, its bytes (UTF-8, possibly part of a character) and the most likely alternatives.</summary>
internal sealed class TokenLogprobWire
{
    public required string Token { get; init; }
    public double Logprob { get; init; }
    public required List<int> Bytes { get; init; }
    public required List<TopLogprobWire> TopLogprobs { get; init; }
}

/// <summary>One of the most likely tokens at a position.</summary>
internal sealed class TopLogprobWire
{
    public required string Token { get; init; }
    public double Logprob { get; init; }
    public required List<int> Bytes { get; init; }
}
