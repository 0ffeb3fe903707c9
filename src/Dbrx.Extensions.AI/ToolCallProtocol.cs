using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.RegularExpressions;
using Dbrx.ConstrainedDecoding;
using Microsoft.Extensions.AI;

namespace Dbrx.Extensions.AI;

/// <summary>
/// DBRX has no native tool format, so this one is defined in the prompt. The system turn lists each tool with its
/// description and JSON schema; the model calls tools by answering with one JSON object,
/// <c>{"tool_calls":[{"name":"…","arguments":{…}}]}</c>; assistant turns that called tools are written back the same
/// way, and each result becomes a <c>tool</c> turn holding <c>{"tool_call_id":"…","name":"…","result":…}</c>.
/// </summary>
internal static partial class ToolCallProtocol
{
    /// <summary>The envelope's only key.</summary>
    public const string Key = "tool_calls";

    private static readonly JsonSerializerOptions Json = new(AIJsonUtilities.DefaultOptions) { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping, WriteIndented = false };

    /// <summary>The system-prompt section that describes the tools and how to call them.</summary>
    public static string Describe(IReadOnlyList<AIFunctionDeclaration> tools, bool required, bool allowMultiple)
    {
        var text = new StringBuilder("You can call these tools:\n");
        foreach (AIFunctionDeclaration tool in tools)
        {
            text.Append("- ").Append(tool.Name);
            if (!string.IsNullOrWhiteSpace(tool.Description))
                text.Append(": ").Append(tool.Description.Trim());
            text.Append("\n  arguments JSON schema: ").Append(JsonSerializer.Serialize(tool.JsonSchema, Json)).Append('\n');
        }
        text.Append("To call ").Append(allowMultiple ? "tools" : "a tool (one at a time)").Append(", reply with only this JSON and nothing else:\n")
            .Append("{\"tool_calls\":[{\"name\":\"<tool name>\",\"arguments\":{<arguments>}}]}\n")
            .Append("Each result comes back in a message with the role \"tool\". ")
            .Append(required ? "You must call a tool now." : "When no tool is needed, answer normally.");
        return text.ToString();
    }

    /// <summary>
    /// The grammar of a call envelope the constraint enforces: a non-empty array (one item unless several calls are
    /// allowed) of <c>{"name": one of the tools, "arguments": that tool's schema}</c>.
    /// </summary>
    /// <exception cref="JsonSchemaException">A tool's schema cannot be enforced, or needs more than the budget; the message names the tool.</exception>
    public static JsonGrammar Envelope(IReadOnlyList<(AIFunctionDeclaration Tool, JsonElement Arguments)> tools, bool allowMultiple, bool undeclaredProperties, JsonGrammarBuilder grammar)
    {
        var calls = new List<JsonGrammar>();
        foreach (var (tool, arguments) in tools)
        {
            JsonGrammar compiled;
            try
            {
                compiled = grammar.Schema(arguments, undeclaredProperties);
            }
            catch (JsonSchemaException e)
            {
                throw new JsonSchemaException(e.Keyword, e.SchemaPath, e.Reason, tool.Name, e);
            }
            calls.Add(grammar.Object(("name", grammar.Value(JsonSerializer.SerializeToElement(tool.Name, Json))), ("arguments", compiled)));
        }
        return grammar.Object((Key, grammar.Array(grammar.AnyOf(calls), minItems: 1, maxItems: allowMultiple ? null : 1)));
    }

    /// <summary>An assistant turn's calls in the envelope format.</summary>
    public static string RenderCalls(IEnumerable<FunctionCallContent> calls)
    {
        var list = calls.Select(c => new Dictionary<string, object?> { ["name"] = c.Name, ["arguments"] = c.Arguments ?? new Dictionary<string, object?>() });
        return JsonSerializer.Serialize(new Dictionary<string, object?> { [Key] = list }, Json);
    }

    /// <summary>A tool turn's content for one result.</summary>
    public static string RenderResult(FunctionResultContent result, string? name)
    {
        var body = new Dictionary<string, object?> { ["tool_call_id"] = result.CallId, ["name"] = name };
        if (result.Exception is { } error && result.Result is null)
            body["error"] = error.Message;
        else
            body["result"] = result.Result;
        return JsonSerializer.Serialize(body, Json);
    }

    /// <summary>The position where a call envelope starts, or −1.</summary>
    public static int FindEnvelope(string text) => EnvelopeStart().Match(text) is { Success: true } match ? match.Index : -1;

    /// <summary>
    /// Splits a model answer into text and calls. An envelope that does not parse is left as text; a call whose
    /// arguments are not an object keeps the error in <see cref="FunctionCallContent.Exception"/>.
    /// </summary>
    public static (string Text, List<FunctionCallContent> Calls) Parse(string answer, bool allowMultiple)
    {
        int start = FindEnvelope(answer);
        if (start < 0)
            return (answer, []);
        var calls = new List<FunctionCallContent>();
        try
        {
            var reader = new Utf8JsonReader(Encoding.UTF8.GetBytes(answer[start..]), new JsonReaderOptions { AllowTrailingCommas = true });
            using var document = JsonDocument.ParseValue(ref reader);
            if (!document.RootElement.TryGetProperty(Key, out JsonElement list) || list.ValueKind != JsonValueKind.Array)
                return (answer, []);
            foreach (JsonElement call in list.EnumerateArray())
            {
                string name = call.TryGetProperty("name", out JsonElement n) && n.ValueKind == JsonValueKind.String ? n.GetString()! : "";
                string arguments = call.TryGetProperty("arguments", out JsonElement a) ? a.GetRawText() : "{}";
                calls.Add(FunctionCallContent.CreateFromParsedArguments(arguments, NewCallId(), name,
                    json => JsonSerializer.Deserialize<Dictionary<string, object?>>(json, AIJsonUtilities.DefaultOptions)));
                if (!allowMultiple)
                    break;
            }
        }
        catch (JsonException)
        {
            return (answer, []);
        }
        return calls.Count == 0 ? (answer, calls) : (answer[..start].TrimEnd(), calls);
    }

    /// <summary>A call id unique across processes (the model never writes ids; they are ours).</summary>
    public static string NewCallId() => "call_" + Guid.NewGuid().ToString("N")[..24];

    [GeneratedRegex("""\{\s*"tool_calls"\s*:""")]
    private static partial Regex EnvelopeStart();
}
