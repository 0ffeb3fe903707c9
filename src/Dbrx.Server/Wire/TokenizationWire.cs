using System.Text.Json;

namespace Dbrx.Server.Wire;

/// <summary>
/// <c>POST /tokenize</c>, in vLLM's shape: a completion's <c>prompt</c>, or a chat's <c>messages</c> with the fields
/// that change its rendering (<c>tools</c>, <c>tool_choice</c>, <c>parallel_tool_calls</c>, <c>response_format</c>).
/// <c>model</c> is optional. <c>add_special_tokens</c>, like any unknown field, is ignored: DBRX's tokenizer adds no
/// beginning-of-sequence token, and a chat's special tokens are the template's.
/// </summary>
internal sealed class TokenizeRequest
{
    public string? Model { get; set; }
    public JsonElement? Prompt { get; set; }
    public List<ChatMessageWire?>? Messages { get; set; }
    public List<ToolWire?>? Tools { get; set; }
    public JsonElement? ToolChoice { get; set; }
    public bool? ParallelToolCalls { get; set; }
    public ResponseFormatWire? ResponseFormat { get; set; }
    public bool? AddGenerationPrompt { get; set; }
}

/// <summary>The prompt's token ids, how many, and the most a request may hold (prompt and answer).</summary>
internal sealed class TokenizeResponse
{
    public required int Count { get; init; }
    public required int MaxModelLen { get; init; }
    public required int[] Tokens { get; init; }
}

/// <summary><c>POST /detokenize</c>: token ids to text.</summary>
internal sealed class DetokenizeRequest
{
    public string? Model { get; set; }
    public List<int>? Tokens { get; set; }
}

/// <summary>The ids' text.</summary>
internal sealed class DetokenizeResponse
{
    public required string Prompt { get; init; }
}

/// <summary>The render endpoints' answer: the token ids the engine would prefill for the request.</summary>
internal sealed class RenderResponse
{
    public required int[] TokenIds { get; init; }
}
