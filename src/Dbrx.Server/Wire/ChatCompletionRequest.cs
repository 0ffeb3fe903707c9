using System.Text.Json;

namespace Dbrx.Server.Wire;

/// <summary>
/// The body of <c>POST /v1/chat/completions</c> as OpenAI defines it, read as is: fields whose JSON type varies
/// (message content, stop, tool_choice) stay <see cref="JsonElement"/>s for <see cref="OpenAIChatMapper"/> to check
/// and translate. Unknown fields are ignored, as OpenAI does. <c>top_k</c>, <c>min_p</c> and <c>repetition_penalty</c>
/// are vLLM's extensions.
/// </summary>
internal sealed class ChatCompletionRequest
{
    public string? Model { get; set; }
    public List<ChatMessageWire?>? Messages { get; set; }
    public double? Temperature { get; set; }
    public double? TopP { get; set; }
    public int? MaxTokens { get; set; }
    public int? MaxCompletionTokens { get; set; }
    public JsonElement? Stop { get; set; }
    public long? Seed { get; set; }
    public double? PresencePenalty { get; set; }
    public double? FrequencyPenalty { get; set; }
    public Dictionary<string, double>? LogitBias { get; set; }
    public List<ToolWire?>? Tools { get; set; }
    public JsonElement? ToolChoice { get; set; }
    public bool? ParallelToolCalls { get; set; }
    public ResponseFormatWire? ResponseFormat { get; set; }
    public string? User { get; set; }
    public int? N { get; set; }
    public bool? Stream { get; set; }
    public StreamOptionsWire? StreamOptions { get; set; }
    public bool? Logprobs { get; set; }
    public int? TopLogprobs { get; set; }
    public int? TopK { get; set; }
    public double? MinP { get; set; }
    public double? RepetitionPenalty { get; set; }
}

/// <summary>One message of the conversation; <c>content</c> is a string, a list of parts, or null.</summary>
internal sealed class ChatMessageWire
{
    public string? Role { get; set; }
    public JsonElement? Content { get; set; }
    public string? Name { get; set; }
    public List<ToolCallWire?>? ToolCalls { get; set; }
    public string? ToolCallId { get; set; }
}

/// <summary>A tool call, in an assistant message of the request and in a response.</summary>
internal sealed class ToolCallWire
{
    public string? Id { get; set; }
    public string? Type { get; set; }
    public FunctionCallWire? Function { get; set; }
}

/// <summary>A call's function: its name and its arguments as a JSON string.</summary>
internal sealed class FunctionCallWire
{
    public string? Name { get; set; }
    public string? Arguments { get; set; }
}

/// <summary>A tool the model may call: <c>{"type": "function", "function": {...}}</c>.</summary>
internal sealed class ToolWire
{
    public string? Type { get; set; }
    public FunctionDefinitionWire? Function { get; set; }
}

/// <summary>A function's name, description and JSON schema of its arguments.</summary>
internal sealed class FunctionDefinitionWire
{
    public string? Name { get; set; }
    public string? Description { get; set; }
    public JsonElement? Parameters { get; set; }
    public bool? Strict { get; set; }
}

/// <summary><c>{"type": "text" | "json_object" | "json_schema", "json_schema": {...}}</c>.</summary>
internal sealed class ResponseFormatWire
{
    public string? Type { get; set; }
    public JsonSchemaWire? JsonSchema { get; set; }
}

/// <summary>The schema an answer must match, with its name and description.</summary>
internal sealed class JsonSchemaWire
{
    public string? Name { get; set; }
    public string? Description { get; set; }
    public JsonElement? Schema { get; set; }
    public bool? Strict { get; set; }
}

/// <summary><c>stream_options</c>: <c>include_usage</c> adds a last chunk with the usage.</summary>
internal sealed class StreamOptionsWire
{
    public bool? IncludeUsage { get; set; }
}
