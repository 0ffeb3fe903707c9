namespace Dbrx.Server;

/// <summary>
/// The wire names of the fields that errors found after mapping point at (the prompt, the response format, its schema,
/// a tool's parameters), which differ between chat completions, text completions and the Responses API.
/// </summary>
/// <param name="Messages">The prompt: <c>messages</c>, <c>input</c> or <c>prompt</c>.</param>
/// <param name="ResponseFormat">The answer's format: <c>response_format</c> or <c>text.format</c>.</param>
/// <param name="Schema">The format's JSON schema.</param>
/// <param name="ToolParameters">Tool <c>{0}</c>'s parameter schema.</param>
/// <param name="RawPrompt">The prompt is fed as its text, with no chat template (a text completion's).</param>
internal sealed record RequestFieldNames(string Messages, string ResponseFormat, string Schema, string ToolParameters, bool RawPrompt = false)
{
    public static readonly RequestFieldNames ChatCompletions = new("messages", "response_format", "response_format.json_schema.schema", "tools[{0}].function.parameters");

    public static readonly RequestFieldNames Responses = new("input", "text.format", "text.format.schema", "tools[{0}].parameters");

    /// <summary>A text completion's: its <c>prompt</c>, and otherwise chat completions' names, as it is checked as one.</summary>
    public static readonly RequestFieldNames Completions = ChatCompletions with { Messages = "prompt", RawPrompt = true };

    /// <summary>
    /// The prompt as errors about its length name it: a conversation's template also describes the tools and the
    /// response format in it, so they count too.
    /// </summary>
    public string Prompt => RawPrompt ? $"'{Messages}'" : $"'{Messages}', with 'tools' and '{ResponseFormat}' described in it";

    public string ToolParametersOf(int index) => string.Format(System.Globalization.CultureInfo.InvariantCulture, ToolParameters, index);
}
