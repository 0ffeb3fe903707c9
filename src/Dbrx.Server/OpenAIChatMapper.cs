using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using Dbrx.Extensions.AI;
using Dbrx.Server.Wire;
using Microsoft.Extensions.AI;

namespace Dbrx.Server;

/// <summary>A generation request (a chat or text completion, a response) translated to Microsoft.Extensions.AI, with how to answer it.</summary>
/// <param name="Model">The model the client asked for.</param>
/// <param name="Messages">The conversation.</param>
/// <param name="Options">Sampling, length, stop strings, tools and the response format.</param>
/// <param name="Stream">Answer with server-sent events.</param>
/// <param name="IncludeUsage">With <paramref name="Stream"/>: end with a chunk that holds the usage.</param>
/// <param name="MaxTokensParam">The field the answer's length came in (<c>max_completion_tokens</c> or <c>max_tokens</c>), for errors about it.</param>
/// <param name="LogProbabilities">The request asked for log-probabilities: each choice carries its tokens'.</param>
/// <param name="FieldNames">The API's names of the fields errors point at (chat completions' by default; a text completion's and a response's differ).</param>
internal sealed record MappedChatRequest(string Model, List<ChatMessage> Messages, ChatOptions Options, bool Stream, bool IncludeUsage, string MaxTokensParam = "max_tokens", bool LogProbabilities = false, RequestFieldNames? FieldNames = null)
{
    /// <summary>The names errors use.</summary>
    public RequestFieldNames Fields => FieldNames ?? RequestFieldNames.ChatCompletions;
}

/// <summary>
/// The one translation between OpenAI's chat completions wire format and Microsoft.Extensions.AI, both ways: a request
/// becomes messages and <see cref="ChatOptions"/> (every field checked, a wrong one refused with a 400 naming it), and a
/// <see cref="ChatResponse"/> or its <see cref="ChatResponseUpdate"/>s become a completion or its chunks.
/// </summary>
/// <remarks>
/// <list type="table">
/// <item><term>temperature, top_p, max_completion_tokens (else max_tokens), stop, seed, presence_penalty, frequency_penalty</term><description>the <see cref="ChatOptions"/> members of the same meaning.</description></item>
/// <item><term>logit_bias, min_p, repetition_penalty</term><description><see cref="ChatOptions.AdditionalProperties"/> keys the DBRX client reads; <c>top_k</c> is <see cref="ChatOptions.TopK"/> (the last three are vLLM's extensions).</description></item>
/// <item><term>tools, tool_choice, parallel_tool_calls</term><description>function declarations, <see cref="ChatToolMode"/>, <see cref="ChatOptions.AllowMultipleToolCalls"/>.</description></item>
/// <item><term>response_format</term><description>text, <see cref="ChatResponseFormat.Json"/>, or a JSON schema (always enforced, <c>strict</c> or not).</description></item>
/// <item><term>n</term><description>1 to <see cref="DbrxServerOptions.MaxChoices"/>: the DBRX client's choices (<c>n</c> in <see cref="ChatOptions.AdditionalProperties"/>), one <c>index</c> each.</description></item>
/// <item><term>logprobs, top_logprobs</term><description>the DBRX client's log-probabilities (<c>logprobs</c>, <c>top_logprobs</c> in <see cref="ChatOptions.AdditionalProperties"/>), top 0 to 20.</description></item>
/// <item><term>user, unknown fields</term><description>ignored.</description></item>
/// </list>
/// Roles: system and developer (a system message), user, assistant (text and <c>tool_calls</c>), tool (a function
/// result for <c>tool_call_id</c>). Content is a string or text parts; image, audio and file parts are refused.
/// </remarks>
internal static partial class OpenAIChatMapper
{
    // AIJsonUtilities' options write indented JSON; arguments go out compact, as OpenAI writes them.
    private static readonly JsonSerializerOptions CompactArguments = new(AIJsonUtilities.DefaultOptions) { WriteIndented = false };
    private static readonly JsonElement EmptyObjectSchema = JsonDocument.Parse("""{"type":"object","properties":{}}""").RootElement;

    /// <summary>Checks and translates a request (the caller checks <c>model</c> against the served model).</summary>
    /// <exception cref="OpenAIRequestException">A field is missing, has a value outside its range, or asks for what the server does not offer.</exception>
    /// <param name="request">The request as read.</param>
    /// <param name="limits">How many messages and tools a request may carry.</param>
    public static MappedChatRequest ToChatRequest(ChatCompletionRequest request, DbrxServerOptions limits)
    {
        if (string.IsNullOrEmpty(request.Model))
            throw OpenAIRequestException.Invalid("model", "Missing required parameter: 'model'.");
        if (request.Messages is not { Count: > 0 } messages)
            throw OpenAIRequestException.Invalid("messages", "'messages' must be a non-empty array of messages.");
        if (messages.Count > limits.MaxMessages)
            throw OpenAIRequestException.Invalid("messages", $"'messages' has {messages.Count:N0} messages; this server accepts at most {limits.MaxMessages:N0} in a request.");
        if (request.Tools?.Count > limits.MaxTools)
            throw OpenAIRequestException.Invalid("tools", $"'tools' has {request.Tools.Count:N0} tools; this server accepts at most {limits.MaxTools:N0} in a request.");
        if (request.N is { } n && (n < 1 || n > limits.MaxChoices))
            throw OpenAIRequestException.Invalid("n", $"'n' must be between 1 and {limits.MaxChoices} (the server's limit on choices per request), not {n}.");
        if (request.TopLogprobs is { } top && (top < 0 || top > 20))
            throw OpenAIRequestException.Invalid("top_logprobs", $"'top_logprobs' must be between 0 and 20, not {top}.");
        if (request.TopLogprobs is > 0 && request.Logprobs != true)
            throw OpenAIRequestException.Invalid("top_logprobs", "'top_logprobs' needs 'logprobs' set to true.");

        var options = new ChatOptions
        {
            Temperature = (float?)InRange(request.Temperature, "temperature", 0, 2, "[0, 2]"),
            TopP = (float?)InRange(request.TopP, "top_p", double.Epsilon, 1, "(0, 1]"),
            TopK = request.TopK is < 0 ? throw OpenAIRequestException.Invalid("top_k", $"'top_k' must be ≥ 0 (0 turns it off), not {request.TopK}.") : request.TopK,
            MaxOutputTokens = MaxTokens(request),
            StopSequences = StopSequences(request.Stop),
            Seed = request.Seed,
            PresencePenalty = (float?)InRange(request.PresencePenalty, "presence_penalty", -2, 2, "[-2, 2]"),
            FrequencyPenalty = (float?)InRange(request.FrequencyPenalty, "frequency_penalty", -2, 2, "[-2, 2]"),
            ResponseFormat = ResponseFormat(request.ResponseFormat),
            AllowMultipleToolCalls = request.ParallelToolCalls,
        };
        var extra = new AdditionalPropertiesDictionary();
        if (LogitBias(request.LogitBias) is { } bias)
            extra["logit_bias"] = bias;
        if (InRange(request.MinP, "min_p", 0, 1, "[0, 1]") is { } minP)
            extra["min_p"] = minP;
        if (request.RepetitionPenalty is { } penalty)
            extra["repetition_penalty"] = penalty > 0 && double.IsFinite(penalty) ? penalty : throw OpenAIRequestException.Invalid("repetition_penalty", $"'repetition_penalty' must be a finite number > 0 (1 turns it off), not {penalty}.");
        if (request.N is > 1)
            extra[DbrxChatOptionsExtensions.ChoicesKey] = request.N.Value;
        if (request.Logprobs == true)
        {
            extra[DbrxChatOptionsExtensions.LogProbabilitiesKey] = true;
            extra[DbrxChatOptionsExtensions.TopLogProbabilitiesKey] = request.TopLogprobs ?? 0;
        }
        if (extra.Count > 0)
            options.AdditionalProperties = extra;
        (options.Tools, options.ToolMode) = Tools(request.Tools, request.ToolChoice);

        var conversation = new List<ChatMessage>(messages.Count);
        for (int i = 0; i < messages.Count; i++)
            conversation.Add(Message(messages[i] ?? throw OpenAIRequestException.Invalid($"messages[{i}]", $"'messages[{i}]' must be a message object, not null."), $"messages[{i}]"));
        bool stream = request.Stream == true;
        string maxTokensParam = request.MaxCompletionTokens is not null ? "max_completion_tokens" : "max_tokens";
        return new MappedChatRequest(request.Model, conversation, options, stream, stream && request.StreamOptions?.IncludeUsage == true, maxTokensParam, request.Logprobs == true);
    }

    /// <summary><paramref name="value"/> when it is absent or in [<paramref name="minimum"/>, <paramref name="maximum"/>]; a 400 naming <paramref name="param"/> otherwise.</summary>
    internal static double? InRange(double? value, string param, double minimum, double maximum, string range) =>
        value is not { } v || (v >= minimum && v <= maximum) ? value : throw OpenAIRequestException.Invalid(param, $"'{param}' must be in {range}, not {v.ToString(CultureInfo.InvariantCulture)}.");

    private static int? MaxTokens(ChatCompletionRequest request)
    {
        var (value, param) = request.MaxCompletionTokens is { } completion ? (completion, "max_completion_tokens") : (request.MaxTokens, "max_tokens");
        return value is < 1 ? throw OpenAIRequestException.Invalid(param, $"'{param}' must be at least 1, not {value}.") : value;
    }

    private static List<string>? StopSequences(JsonElement? stop)
    {
        if (stop is not { } element || element.ValueKind == JsonValueKind.Null)
            return null;
        List<string> sequences = element.ValueKind switch
        {
            JsonValueKind.String => [element.GetString()!],
            JsonValueKind.Array => [.. element.EnumerateArray().Select((item, i) => item.ValueKind == JsonValueKind.String
                ? item.GetString()!
                : throw OpenAIRequestException.Invalid($"stop[{i}]", $"'stop[{i}]' must be a string, not {Describe(item)}."))],
            _ => throw OpenAIRequestException.Invalid("stop", $"'stop' must be a string or an array of strings, not {Describe(element)}."),
        };
        return sequences.Any(string.IsNullOrEmpty) ? throw OpenAIRequestException.Invalid("stop", "'stop' must not contain empty strings.") : sequences;
    }

    private static Dictionary<int, double>? LogitBias(Dictionary<string, double>? bias)
    {
        if (bias is null)
            return null;
        var byId = new Dictionary<int, double>();
        foreach (var (key, value) in bias)
        {
            if (!int.TryParse(key, NumberStyles.None, CultureInfo.InvariantCulture, out int id))
                throw OpenAIRequestException.Invalid("logit_bias", $"'logit_bias' has the key '{key}', which is not a token id.");
            if (!(value >= -100 && value <= 100))
                throw OpenAIRequestException.Invalid("logit_bias", $"'logit_bias' for token {id} must be in [-100, 100], not {value.ToString(CultureInfo.InvariantCulture)}.");
            byId[id] = value;
        }
        return byId;
    }

    private static ChatResponseFormat? ResponseFormat(ResponseFormatWire? format)
    {
        if (format is null)
            return null;
        switch (format.Type)
        {
            case "text":
                return ChatResponseFormat.Text;
            case "json_object":
                return ChatResponseFormat.Json;
            case "json_schema":
                if (format.JsonSchema is not { } schema)
                    throw OpenAIRequestException.Invalid("response_format.json_schema", "'response_format.json_schema' is required when 'response_format.type' is 'json_schema'.");
                return SchemaFormat(schema.Schema, schema.Name, schema.Description, "response_format.json_schema.schema");
            default:
                throw OpenAIRequestException.Invalid("response_format.type", $"'response_format.type' must be 'text', 'json_object' or 'json_schema', not '{format.Type}'.");
        }
    }

    /// <summary>A JSON schema response format (always enforced, <c>strict</c> or not); no schema at all is any JSON.</summary>
    internal static ChatResponseFormat SchemaFormat(JsonElement? schema, string? name, string? description, string path)
    {
        if (schema is not { } body || body.ValueKind == JsonValueKind.Null)
            return ChatResponseFormat.Json;
        if (body.ValueKind != JsonValueKind.Object)
            throw OpenAIRequestException.Invalid(path, $"'{path}' must be a JSON schema object, not {Describe(body)}.");
        return ChatResponseFormat.ForJsonSchema(body, name, description);
    }

    private static (IList<AITool>? Tools, ChatToolMode? Mode) Tools(List<ToolWire?>? tools, JsonElement? choice)
    {
        var declared = new List<AITool>();
        for (int i = 0; i < (tools?.Count ?? 0); i++)
        {
            string path = $"tools[{i}]";
            ToolWire tool = tools![i] ?? throw OpenAIRequestException.Invalid(path, $"'{path}' must be a tool object, not null.");
            if (tool.Type != "function")
                throw OpenAIRequestException.Invalid($"{path}.type", $"'{path}.type' must be 'function', not '{tool.Type}'.");
            declared.Add(Declare(tool.Function?.Name, tool.Function?.Description, tool.Function?.Parameters, $"{path}.function"));
        }

        ChatToolMode? mode = choice switch
        {
            null or { ValueKind: JsonValueKind.Null } => null,
            { ValueKind: JsonValueKind.String } text => ToolMode(text.GetString()),
            { ValueKind: JsonValueKind.Object } named => ChatToolMode.RequireSpecific(NamedFunction(named)),
            { } other => throw OpenAIRequestException.Invalid("tool_choice", $"'tool_choice' must be a string or an object, not {Describe(other)}."),
        };
        return (declared.Count == 0 ? null : declared, Checked(mode, declared));
    }

    /// <summary>A function declaration; <paramref name="path"/> is where the name and parameters are, for errors.</summary>
    internal static AITool Declare(string? name, string? description, JsonElement? parameters, string path)
    {
        if (name is null || !FunctionName().IsMatch(name))
            throw OpenAIRequestException.Invalid($"{path}.name", $"'{path}.name' must be 1 to 64 letters, digits, underscores or dashes, not '{name}'.");
        JsonElement schema = parameters is { ValueKind: not JsonValueKind.Null } given ? given : EmptyObjectSchema;
        if (schema.ValueKind != JsonValueKind.Object)
            throw OpenAIRequestException.Invalid($"{path}.parameters", $"'{path}.parameters' must be a JSON schema object, not {Describe(schema)}.");
        return AIFunctionFactory.CreateDeclaration(name, description, schema);
    }

    /// <summary>The tool mode a string <c>tool_choice</c> names.</summary>
    internal static ChatToolMode ToolMode(string? choice) => choice switch
    {
        "none" => ChatToolMode.None,
        "auto" => ChatToolMode.Auto,
        "required" => ChatToolMode.RequireAny,
        _ => throw OpenAIRequestException.Invalid("tool_choice", $"'tool_choice' must be 'none', 'auto', 'required' or a function, not '{choice}'."),
    };

    /// <summary><paramref name="mode"/>, refused when it requires a call that <paramref name="declared"/> cannot give.</summary>
    internal static ChatToolMode? Checked(ChatToolMode? mode, List<AITool> declared)
    {
        if (mode is RequiredChatToolMode required)
        {
            if (declared.Count == 0)
                throw OpenAIRequestException.Invalid("tool_choice", "'tool_choice' requires a tool call, but 'tools' is empty.");
            if (required.RequiredFunctionName is { } wanted && !declared.Any(t => t.Name == wanted))
                throw OpenAIRequestException.Invalid("tool_choice", $"'tool_choice' names the function '{wanted}', which is not in 'tools'.");
        }
        return mode;
    }

    private static string NamedFunction(JsonElement choice)
    {
        if (!choice.TryGetProperty("type", out JsonElement type) || type.ValueKind != JsonValueKind.String || type.GetString() != "function")
            throw OpenAIRequestException.Invalid("tool_choice.type", "'tool_choice.type' must be 'function'.");
        if (!choice.TryGetProperty("function", out JsonElement function) || function.ValueKind != JsonValueKind.Object
            || !function.TryGetProperty("name", out JsonElement name) || name.ValueKind != JsonValueKind.String)
            throw OpenAIRequestException.Invalid("tool_choice.function.name", "'tool_choice.function.name' must be the name of a function in 'tools'.");
        return name.GetString()!;
    }

    private static ChatMessage Message(ChatMessageWire message, string path)
    {
        switch (message.Role)
        {
            case "system" or "developer":
                return new ChatMessage(ChatRole.System, Text(message.Content, $"{path}.content", required: true)) { AuthorName = message.Name };
            case "user":
                return new ChatMessage(ChatRole.User, Text(message.Content, $"{path}.content", required: true)) { AuthorName = message.Name };
            case "assistant":
                var contents = new List<AIContent>();
                if (Text(message.Content, $"{path}.content", required: false) is { Length: > 0 } text)
                    contents.Add(new TextContent(text));
                for (int i = 0; i < (message.ToolCalls?.Count ?? 0); i++)
                    contents.Add(Call(message.ToolCalls![i], $"{path}.tool_calls[{i}]"));
                if (contents.Count == 0)
                    throw OpenAIRequestException.Invalid($"{path}.content", $"'{path}' has neither 'content' nor 'tool_calls'.");
                return new ChatMessage(ChatRole.Assistant, contents) { AuthorName = message.Name };
            case "tool":
                if (string.IsNullOrEmpty(message.ToolCallId))
                    throw OpenAIRequestException.Invalid($"{path}.tool_call_id", $"'{path}.tool_call_id' is required in a tool message: the id of the call it answers.");
                return new ChatMessage(ChatRole.Tool, [new FunctionResultContent(message.ToolCallId, Text(message.Content, $"{path}.content", required: true))]);
            case null:
                throw OpenAIRequestException.Invalid($"{path}.role", $"'{path}.role' is required.");
            default:
                throw OpenAIRequestException.Invalid($"{path}.role", $"'{path}.role' must be 'system', 'developer', 'user', 'assistant' or 'tool', not '{message.Role}'.");
        }
    }

    /// <summary>A content string, or its text parts joined; other parts are refused, naming the part.</summary>
    private static string? Text(JsonElement? content, string path, bool required) => Text(content, path, required, ChatTextParts);

    private static readonly string[] ChatTextParts = ["text"];

    /// <summary>
    /// A content string, or its parts of a type in <paramref name="textParts"/> joined (each with a string <c>text</c>);
    /// other parts are refused, naming the part.
    /// </summary>
    internal static string? Text(JsonElement? content, string path, bool required, string[] textParts)
    {
        switch (content)
        {
            case null or { ValueKind: JsonValueKind.Null }:
                return required ? throw OpenAIRequestException.Invalid(path, $"'{path}' is required.") : null;
            case { ValueKind: JsonValueKind.String } text:
                return text.GetString();
            case { ValueKind: JsonValueKind.Array } parts:
                var joined = new List<string>();
                int i = 0;
                foreach (JsonElement part in parts.EnumerateArray())
                {
                    string partPath = $"{path}[{i++}]";
                    string? type = part.ValueKind == JsonValueKind.Object && part.TryGetProperty("type", out JsonElement t) && t.ValueKind == JsonValueKind.String ? t.GetString() : null;
                    bool isText = type is not null && textParts.Contains(type);
                    if (isText && part.TryGetProperty("text", out JsonElement value) && value.ValueKind == JsonValueKind.String)
                        joined.Add(value.GetString()!);
                    else if (isText)
                        throw OpenAIRequestException.Invalid($"{partPath}.text", $"'{partPath}.text' must be a string.");
                    else if (type is null)
                        throw OpenAIRequestException.Invalid($"{partPath}.type", $"'{partPath}' must be a content part object with a 'type'.");
                    else
                        throw OpenAIRequestException.Invalid(partPath, $"'{partPath}' is a '{type}' part: this server's model reads text only, so only {string.Join(" and ", textParts.Select(p => $"'{p}'"))} parts are accepted.");
                }
                return string.Join("\n", joined);
            case { } other:
                throw OpenAIRequestException.Invalid(path, $"'{path}' must be a string or an array of content parts, not {Describe(other)}.");
        }
    }

    private static FunctionCallContent Call(ToolCallWire? call, string path)
    {
        if (call is null)
            throw OpenAIRequestException.Invalid(path, $"'{path}' must be a tool call object, not null.");
        if (call.Type is not (null or "function"))
            throw OpenAIRequestException.Invalid($"{path}.type", $"'{path}.type' must be 'function', not '{call.Type}'.");
        if (string.IsNullOrEmpty(call.Id))
            throw OpenAIRequestException.Invalid($"{path}.id", $"'{path}.id' is required.");
        if (string.IsNullOrEmpty(call.Function?.Name))
            throw OpenAIRequestException.Invalid($"{path}.function.name", $"'{path}.function.name' is required.");
        return new FunctionCallContent(call.Id, call.Function.Name, Arguments(call.Function.Arguments, $"{path}.function.arguments"));
    }

    /// <summary>A call's arguments: a JSON object in a string (empty is no arguments).</summary>
    internal static Dictionary<string, object?> Arguments(string? json, string path)
    {
        try
        {
            return string.IsNullOrWhiteSpace(json)
                ? []
                : JsonSerializer.Deserialize<Dictionary<string, object?>>(json, AIJsonUtilities.DefaultOptions) ?? throw new JsonException("null");
        }
        catch (JsonException)
        {
            throw OpenAIRequestException.Invalid(path, $"'{path}' must be a JSON object in a string, not '{Shorten(json!)}'.");
        }
    }

    /// <summary>A JSON value's type, as errors name it.</summary>
    internal static string Describe(JsonElement element) => element.ValueKind switch
    {
        JsonValueKind.Object => "an object",
        JsonValueKind.Array => "an array",
        JsonValueKind.String => "a string",
        JsonValueKind.Number => "a number",
        JsonValueKind.True or JsonValueKind.False => "a boolean",
        _ => "null",
    };

    private static string Shorten(string text) => text.Length <= 40 ? text : text[..40] + "…";

    [GeneratedRegex("^[a-zA-Z0-9_-]{1,64}$")]
    private static partial Regex FunctionName();
}
