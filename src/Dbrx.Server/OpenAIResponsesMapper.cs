using System.Text.Json;
using Dbrx.Server.Wire;
using Microsoft.Extensions.AI;

namespace Dbrx.Server;

/// <summary>A Responses API request translated to Microsoft.Extensions.AI, with what its response echoes and stores.</summary>
/// <param name="Chat">The conversation (instructions first, then the earlier turns of <c>previous_response_id</c>, then <c>input</c>) and its options.</param>
/// <param name="Request">The request as read, for the fields a response echoes.</param>
/// <param name="Items">The conversation's input items without the instructions, as a follow-up replays them.</param>
internal sealed record MappedResponsesRequest(MappedChatRequest Chat, ResponseCreateRequest Request, List<JsonElement> Items)
{
    /// <summary>Whether the response is kept for <c>GET</c> and follow-ups (OpenAI's default: yes).</summary>
    public bool Store => Request.Store != false;
}

/// <summary>
/// The one translation between OpenAI's Responses API and Microsoft.Extensions.AI, both ways: a request becomes
/// messages and <see cref="ChatOptions"/> (every field checked, a wrong one refused with a 400 naming it), and the
/// chat client's updates become a response or its typed events (<see cref="ResponseEventWriter"/>). The checks the
/// request shares with chat completions (tools, schemas, ranges) are <see cref="OpenAIChatMapper"/>'s.
/// </summary>
/// <remarks>
/// <list type="table">
/// <item><term>input</term><description>a string (one user message) or items: messages (<c>system</c>, <c>developer</c>, <c>user</c> with <c>input_text</c> parts, <c>assistant</c> with <c>output_text</c>), <c>function_call</c>, <c>function_call_output</c>. Images, files and other item types are refused.</description></item>
/// <item><term>instructions</term><description>a system message first; not carried to follow-ups, as OpenAI does.</description></item>
/// <item><term>temperature, top_p, max_output_tokens, parallel_tool_calls</term><description>the <see cref="ChatOptions"/> members of the same meaning.</description></item>
/// <item><term>tools, tool_choice</term><description>function tools only (another type is a 400 naming it).</description></item>
/// <item><term>text.format</term><description>text, <see cref="ChatResponseFormat.Json"/>, or a JSON schema (always enforced).</description></item>
/// <item><term>metadata, user</term><description>echoed; metadata at most 16 pairs, keys up to 64 and values up to 512 characters.</description></item>
/// </list>
/// </remarks>
internal static partial class OpenAIResponsesMapper
{
    // An earlier answer replayed as input has output_text parts; a message the client writes, input_text ones.
    private static readonly string[] TextParts = ["input_text", "output_text"];

    /// <summary>Checks and translates a request (the caller checks <c>model</c> and finds <c>previous_response_id</c>'s items).</summary>
    /// <param name="request">The request as read.</param>
    /// <param name="previous">The stored conversation <c>previous_response_id</c> continues: its input items and output; empty without one.</param>
    /// <param name="limits">How many input items and tools a request may carry.</param>
    /// <exception cref="OpenAIRequestException">A field is missing, has a value outside its range, or asks for what the server does not offer.</exception>
    public static MappedResponsesRequest ToChatRequest(ResponseCreateRequest request, IReadOnlyList<JsonElement> previous, DbrxServerOptions limits)
    {
        if (string.IsNullOrEmpty(request.Model))
            throw OpenAIRequestException.Invalid("model", "Missing required parameter: 'model'.");
        List<JsonElement> input = Input(request.Input);
        if (input.Count > limits.MaxMessages)
            throw OpenAIRequestException.Invalid("input", $"'input' has {input.Count:N0} items; this server accepts at most {limits.MaxMessages:N0} in a request.");
        if (request.Tools?.Count > limits.MaxTools)
            throw OpenAIRequestException.Invalid("tools", $"'tools' has {request.Tools.Count:N0} tools; this server accepts at most {limits.MaxTools:N0} in a request.");
        CheckMetadata(request.Metadata);

        var options = new ChatOptions
        {
            Temperature = (float?)OpenAIChatMapper.InRange(request.Temperature, "temperature", 0, 2, "[0, 2]"),
            TopP = (float?)OpenAIChatMapper.InRange(request.TopP, "top_p", double.Epsilon, 1, "(0, 1]"),
            MaxOutputTokens = request.MaxOutputTokens is < 1 ? throw OpenAIRequestException.Invalid("max_output_tokens", $"'max_output_tokens' must be at least 1, not {request.MaxOutputTokens}.") : request.MaxOutputTokens,
            ResponseFormat = Format(request.Text?.Format),
            AllowMultipleToolCalls = request.ParallelToolCalls,
        };
        var declared = new List<AITool>();
        for (int i = 0; i < (request.Tools?.Count ?? 0); i++)
            declared.Add(Tool(request.Tools![i], $"tools[{i}]"));
        options.Tools = declared.Count == 0 ? null : declared;
        options.ToolMode = OpenAIChatMapper.Checked(ToolChoice(request.ToolChoice), declared);

        var conversation = new List<ChatMessage>();
        if (!string.IsNullOrEmpty(request.Instructions))
            conversation.Add(new ChatMessage(ChatRole.System, request.Instructions));
        for (int i = 0; i < previous.Count; i++)
            Add(conversation, previous[i], $"previous_response_id (item {i})");
        for (int i = 0; i < input.Count; i++)
            Add(conversation, input[i], $"input[{i}]");
        if (conversation.Count == 0)
            throw OpenAIRequestException.Invalid("input", "'input' must be a string or a non-empty array of items.");
        var chat = new MappedChatRequest(request.Model, conversation, options, request.Stream == true, IncludeUsage: false, MaxTokensParam: "max_output_tokens", FieldNames: RequestFieldNames.Responses);
        return new MappedResponsesRequest(chat, request, [.. previous, .. input]);
    }

    /// <summary><c>input</c> as items: a string is one user message.</summary>
    private static List<JsonElement> Input(JsonElement? input) => input switch
    {
        null or { ValueKind: JsonValueKind.Null } => [],
        { ValueKind: JsonValueKind.String } text => [JsonSerializer.SerializeToElement(new Dictionary<string, string> { ["type"] = "message", ["role"] = "user", ["content"] = text.GetString()! })],
        { ValueKind: JsonValueKind.Array } items => [.. items.EnumerateArray()],
        { } other => throw OpenAIRequestException.Invalid("input", $"'input' must be a string or an array of items, not {OpenAIChatMapper.Describe(other)}."),
    };

    private static void CheckMetadata(Dictionary<string, string>? metadata)
    {
        if (metadata is null)
            return;
        if (metadata.Count > 16)
            throw OpenAIRequestException.Invalid("metadata", $"'metadata' has {metadata.Count} pairs; at most 16 are allowed.");
        foreach (var (key, value) in metadata)
        {
            if (key.Length > 64)
                throw OpenAIRequestException.Invalid("metadata", $"'metadata' has a key of {key.Length} characters; keys are at most 64.");
            if (value is null || value.Length > 512)
                throw OpenAIRequestException.Invalid("metadata", $"'metadata' value for '{key}' must be a string of at most 512 characters.");
        }
    }

    private static ChatResponseFormat? Format(ResponseTextFormatWire? format) => format?.Type switch
    {
        null when format is null => null,
        "text" => ChatResponseFormat.Text,
        "json_object" => ChatResponseFormat.Json,
        "json_schema" when string.IsNullOrEmpty(format.Name) => throw OpenAIRequestException.Invalid("text.format.name", "'text.format.name' is required when 'text.format.type' is 'json_schema'."),
        "json_schema" when format.Schema is null or { ValueKind: JsonValueKind.Null } => throw OpenAIRequestException.Invalid("text.format.schema", "'text.format.schema' is required when 'text.format.type' is 'json_schema'."),
        "json_schema" => OpenAIChatMapper.SchemaFormat(format.Schema, format.Name, format.Description, "text.format.schema"),
        var other => throw OpenAIRequestException.Invalid("text.format.type", $"'text.format.type' must be 'text', 'json_object' or 'json_schema', not '{other}'."),
    };

    private static AITool Tool(ResponseToolWire? tool, string path)
    {
        if (tool is null)
            throw OpenAIRequestException.Invalid(path, $"'{path}' must be a tool object, not null.");
        if (tool.Type != "function")
            throw OpenAIRequestException.Invalid($"{path}.type", $"'{path}.type' is '{tool.Type}': this server offers 'function' tools only.");
        return OpenAIChatMapper.Declare(tool.Name, tool.Description, tool.Parameters, path);
    }

    private static ChatToolMode? ToolChoice(JsonElement? choice)
    {
        switch (choice)
        {
            case null or { ValueKind: JsonValueKind.Null }:
                return null;
            case { ValueKind: JsonValueKind.String } text:
                return OpenAIChatMapper.ToolMode(text.GetString());
            case { ValueKind: JsonValueKind.Object } named:
                string? type = String(named, "type", "tool_choice", required: true);
                if (type != "function")
                    throw OpenAIRequestException.Invalid("tool_choice.type", $"'tool_choice.type' is '{type}': this server offers 'function' tools only.");
                return ChatToolMode.RequireSpecific(Name(named, "name", "tool_choice"));
            case { } other:
                throw OpenAIRequestException.Invalid("tool_choice", $"'tool_choice' must be a string or an object, not {OpenAIChatMapper.Describe(other)}.");
        }
    }

    /// <summary>Adds an input item to the conversation; a function call joins the assistant message before it.</summary>
    private static void Add(List<ChatMessage> conversation, JsonElement item, string path)
    {
        if (item.ValueKind != JsonValueKind.Object)
            throw OpenAIRequestException.Invalid(path, $"'{path}' must be an item object, not {OpenAIChatMapper.Describe(item)}.");
        string? type = String(item, "type", path, required: false);
        switch (type ?? (item.TryGetProperty("role", out _) ? "message" : null))
        {
            case "message":
                conversation.Add(Message(item, path));
                break;
            case "function_call":
                var call = new FunctionCallContent(
                    Name(item, "call_id", path),
                    Name(item, "name", path),
                    OpenAIChatMapper.Arguments(String(item, "arguments", path, required: false), $"{path}.arguments"));
                if (conversation.Count > 0 && conversation[^1].Role == ChatRole.Assistant)
                    conversation[^1].Contents.Add(call);
                else
                    conversation.Add(new ChatMessage(ChatRole.Assistant, [call]));
                break;
            case "function_call_output":
                string callId = Name(item, "call_id", path);
                string output = Text(item.TryGetProperty("output", out JsonElement o) ? o : null, $"{path}.output");
                conversation.Add(new ChatMessage(ChatRole.Tool, [new FunctionResultContent(callId, output)]));
                break;
            case null:
                throw OpenAIRequestException.Invalid($"{path}.type", $"'{path}' must have a 'type' ('message', 'function_call' or 'function_call_output') or a 'role'.");
            default:
                throw OpenAIRequestException.Invalid($"{path}.type", $"'{path}.type' is '{type}': this server accepts 'message', 'function_call' and 'function_call_output' items.");
        }
    }

    private static ChatMessage Message(JsonElement item, string path)
    {
        string? role = String(item, "role", path, required: true);
        JsonElement? content = item.TryGetProperty("content", out JsonElement c) ? c : null;
        return role switch
        {
            "system" or "developer" => new ChatMessage(ChatRole.System, Text(content, $"{path}.content")),
            "user" => new ChatMessage(ChatRole.User, Text(content, $"{path}.content")),
            "assistant" => new ChatMessage(ChatRole.Assistant, Text(content, $"{path}.content")),
            _ => throw OpenAIRequestException.Invalid($"{path}.role", $"'{path}.role' must be 'system', 'developer', 'user' or 'assistant', not '{role}'."),
        };
    }

    /// <summary>A required string, or text parts joined (as chat completions reads content, with the Responses API's part types).</summary>
    private static string Text(JsonElement? content, string path) => OpenAIChatMapper.Text(content, path, required: true, TextParts)!;

    /// <summary>A string field of an item; absent (or null) is null unless <paramref name="required"/>.</summary>
    private static string? String(JsonElement item, string name, string path, bool required)
    {
        if (!item.TryGetProperty(name, out JsonElement value) || value.ValueKind == JsonValueKind.Null)
            return required ? throw OpenAIRequestException.Invalid($"{path}.{name}", $"'{path}.{name}' is required.") : null;
        if (value.ValueKind != JsonValueKind.String)
            throw OpenAIRequestException.Invalid($"{path}.{name}", $"'{path}.{name}' must be a string, not {OpenAIChatMapper.Describe(value)}.");
        return value.GetString();
    }

    /// <summary>A string field that names something (a call id, a function): present and not empty.</summary>
    private static string Name(JsonElement item, string name, string path) =>
        String(item, name, path, required: true) is { Length: > 0 } value ? value : throw OpenAIRequestException.Invalid($"{path}.{name}", $"'{path}.{name}' must not be empty.");
}
