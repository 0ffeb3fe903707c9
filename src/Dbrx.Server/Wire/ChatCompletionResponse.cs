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

/// <summary>The one choice of an answer (<c>n</c> is always 1).</summary>
internal sealed class ChatCompletionChoice
{
    public int Index { get; init; }
    public required AssistantMessageWire Message { get; init; }

    /// <summary>Always null: log-probabilities are not offered (a request asking for them is refused).</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.Never)]
    public object? Logprobs => null;

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

/// <summary>What a chunk adds to the one choice, and how it ended (in the last content chunk only).</summary>
internal sealed class ChunkChoice
{
    public int Index { get; init; }
    public required DeltaWire Delta { get; init; }

    [JsonIgnore(Condition = JsonIgnoreCondition.Never)]
    public object? Logprobs => null;

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
