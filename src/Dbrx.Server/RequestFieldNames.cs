namespace Dbrx.Server;

/// <summary>
/// The wire names of the fields that errors found after mapping point at (the conversation, the response format, its
/// schema, a tool's parameters), which differ between chat completions and the Responses API.
/// </summary>
/// <param name="Messages">The conversation: <c>messages</c> or <c>input</c>.</param>
/// <param name="ResponseFormat">The answer's format: <c>response_format</c> or <c>text.format</c>.</param>
/// <param name="Schema">The format's JSON schema.</param>
/// <param name="ToolParameters">Tool <c>{0}</c>'s parameter schema.</param>
internal sealed record RequestFieldNames(string Messages, string ResponseFormat, string Schema, string ToolParameters)
{
    public static readonly RequestFieldNames ChatCompletions = new("messages", "response_format", "response_format.json_schema.schema", "tools[{0}].function.parameters");

    public static readonly RequestFieldNames Responses = new("input", "text.format", "text.format.schema", "tools[{0}].parameters");

    public string ToolParametersOf(int index) => string.Format(System.Globalization.CultureInfo.InvariantCulture, ToolParameters, index);
}
