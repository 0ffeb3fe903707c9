using System.Text.Json;

namespace Dbrx.Server.Wire;

/// <summary>
/// The body of <c>POST /v1/responses</c> (OpenAI's Responses API) as read: <c>input</c> (a string or a list of items)
/// and <c>tool_choice</c> stay <see cref="JsonElement"/>s for <see cref="OpenAIResponsesMapper"/> to check and
/// translate. Unknown fields are ignored, as OpenAI does.
/// </summary>
internal sealed class ResponseCreateRequest
{
    public string? Model { get; set; }
    public JsonElement? Input { get; set; }
    public string? Instructions { get; set; }
    public double? Temperature { get; set; }
    public double? TopP { get; set; }
    public int? MaxOutputTokens { get; set; }
    public List<ResponseToolWire?>? Tools { get; set; }
    public JsonElement? ToolChoice { get; set; }
    public bool? ParallelToolCalls { get; set; }
    public ResponseTextWire? Text { get; set; }
    public bool? Stream { get; set; }
    public bool? Store { get; set; }
    public string? PreviousResponseId { get; set; }
    public Dictionary<string, string>? Metadata { get; set; }
    public string? User { get; set; }
}

/// <summary>A tool: <c>{"type": "function", "name", "description", "parameters", "strict"}</c>; other types are refused.</summary>
internal sealed class ResponseToolWire
{
    public string? Type { get; set; }
    public string? Name { get; set; }
    public string? Description { get; set; }
    public JsonElement? Parameters { get; set; }
    public bool? Strict { get; set; }
}

/// <summary><c>text</c>: the answer's format.</summary>
internal sealed class ResponseTextWire
{
    public ResponseTextFormatWire? Format { get; set; }
}

/// <summary><c>{"type": "text" | "json_object" | "json_schema", "name", "description", "schema", "strict"}</c>.</summary>
internal sealed class ResponseTextFormatWire
{
    public string? Type { get; set; }
    public string? Name { get; set; }
    public string? Description { get; set; }
    public JsonElement? Schema { get; set; }
    public bool? Strict { get; set; }
}
