using System.Text.Json;
using System.Text.Json.Serialization;

namespace Dbrx.Server.Wire;

/// <summary>
/// A response: <c>{"object": "response", ...}</c>, with the request's settings echoed as OpenAI does. Fields OpenAI
/// writes as null are written as null.
/// </summary>
internal sealed class ResponseObject
{
    public required string Id { get; init; }
    public string Object => "response";
    public required long CreatedAt { get; init; }
    public required string Status { get; init; }

    [JsonIgnore(Condition = JsonIgnoreCondition.Never)]
    public ResponseErrorWire? Error { get; init; }

    [JsonIgnore(Condition = JsonIgnoreCondition.Never)]
    public IncompleteDetailsWire? IncompleteDetails { get; init; }

    [JsonIgnore(Condition = JsonIgnoreCondition.Never)]
    public string? Instructions { get; init; }

    [JsonIgnore(Condition = JsonIgnoreCondition.Never)]
    public int? MaxOutputTokens { get; init; }

    public required string Model { get; init; }
    public required List<ResponseItemWire> Output { get; init; }
    public bool ParallelToolCalls { get; init; }

    [JsonIgnore(Condition = JsonIgnoreCondition.Never)]
    public string? PreviousResponseId { get; init; }

    public ReasoningWire Reasoning { get; } = new();
    public bool Store { get; init; }

    [JsonIgnore(Condition = JsonIgnoreCondition.Never)]
    public double? Temperature { get; init; }

    public required ResponseTextWire Text { get; init; }
    public required JsonElement ToolChoice { get; init; }
    public required List<ResponseToolWire> Tools { get; init; }

    [JsonIgnore(Condition = JsonIgnoreCondition.Never)]
    public double? TopP { get; init; }

    public string Truncation => "disabled";

    [JsonIgnore(Condition = JsonIgnoreCondition.Never)]
    public ResponseUsageWire? Usage { get; init; }

    [JsonIgnore(Condition = JsonIgnoreCondition.Never)]
    public string? User { get; init; }

    public required Dictionary<string, string> Metadata { get; init; }
}

/// <summary>An output item: a <c>message</c> with <c>output_text</c> content, or a <c>function_call</c>.</summary>
internal sealed class ResponseItemWire
{
    public required string Type { get; init; }
    public required string Id { get; init; }
    public required string Status { get; init; }

    /// <summary>A message's role (<c>assistant</c>).</summary>
    public string? Role { get; init; }

    /// <summary>A message's content.</summary>
    public List<OutputTextWire>? Content { get; init; }

    /// <summary>A function call's id, which its <c>function_call_output</c> names.</summary>
    public string? CallId { get; init; }

    public string? Name { get; init; }

    /// <summary>A function call's arguments: a JSON object in a string.</summary>
    public string? Arguments { get; init; }
}

/// <summary><c>{"type": "output_text", "text", "annotations": [], "logprobs": []}</c>.</summary>
internal sealed class OutputTextWire
{
    public string Type => "output_text";
    public required string Text { get; init; }
    public List<object> Annotations { get; } = [];
    public List<object> Logprobs { get; } = [];
}

/// <summary>Why a response stopped short: <c>max_output_tokens</c>.</summary>
internal sealed record IncompleteDetailsWire(string Reason);

/// <summary>A failed response's error.</summary>
internal sealed record ResponseErrorWire(string Code, string Message);

/// <summary>Reasoning settings, which this model has none of.</summary>
internal sealed class ReasoningWire
{
    [JsonIgnore(Condition = JsonIgnoreCondition.Never)]
    public string? Effort => null;

    [JsonIgnore(Condition = JsonIgnoreCondition.Never)]
    public string? Summary => null;
}

/// <summary>Token counts; <c>input_tokens_details.cached_tokens</c> are input tokens taken from an earlier request's cache.</summary>
internal sealed class ResponseUsageWire
{
    public long InputTokens { get; init; }
    public required InputTokensDetailsWire InputTokensDetails { get; init; }
    public long OutputTokens { get; init; }
    public OutputTokensDetailsWire OutputTokensDetails { get; } = new();
    public long TotalTokens { get; init; }
}

/// <summary>The cached part of the input.</summary>
internal sealed class InputTokensDetailsWire
{
    public long CachedTokens { get; init; }
}

/// <summary>The reasoning part of the output: none, for this model.</summary>
internal sealed class OutputTokensDetailsWire
{
    public long ReasoningTokens => 0;
}

/// <summary>What <c>DELETE /v1/responses/{id}</c> answers.</summary>
internal sealed record ResponseDeletedWire(string Id)
{
    public string Object => "response";
    public bool Deleted => true;
}

/// <summary>
/// One server-sent event of a streamed response: its <c>type</c> (also the SSE event name), its place in the stream,
/// and the fields its type carries (the others are left out).
/// </summary>
internal sealed class ResponseStreamEvent
{
    public required string Type { get; init; }
    public int SequenceNumber { get; set; }
    public ResponseObject? Response { get; init; }
    public int? OutputIndex { get; init; }
    public string? ItemId { get; init; }
    public int? ContentIndex { get; init; }
    public ResponseItemWire? Item { get; init; }
    public OutputTextWire? Part { get; init; }
    public string? Delta { get; init; }
    public string? Text { get; init; }
    public string? Name { get; init; }
    public string? Arguments { get; init; }
    public List<object>? Logprobs { get; init; }
}
