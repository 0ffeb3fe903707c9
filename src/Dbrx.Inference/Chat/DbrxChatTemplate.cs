using System.Text;
using Dbrx.Inference.Tokenization;

namespace Dbrx.Inference.Chat;

/// <summary>
/// dbrx-instruct's chat template (the hub <c>tokenizer_config.json</c>'s ChatML variant), rendered exactly:
/// <code>
/// &lt;|im_start|&gt;system\n{system, trimmed}&lt;|im_end|&gt;\n&lt;|im_start|&gt;user\n{content}&lt;|im_end|&gt;
/// \n&lt;|im_start|&gt;assistant\n{content}&lt;|im_end|&gt;   (each later message after a newline)
/// \n&lt;|im_start|&gt;assistant\n                            (the generation prompt)
/// </code>
/// A first message with role <c>system</c> supplies the system text; when the first role does not contain
/// "system" the default system prompt is used; a first role that merely contains it (say <c>system2</c>) means
/// no system block. No BOS, no trailing newline, contents untrimmed, as the reference.
/// </summary>
public sealed class DbrxChatTemplate
{
    /// <summary>The default system prompt of dbrx-instruct's hub template, verbatim.</summary>
    public const string DefaultSystemPrompt =
        "You are DBRX, created by Databricks. You were last updated in December 2023. You answer questions based on information available up to that point.\n"
        + "YOU PROVIDE SHORT RESPONSES TO SHORT QUESTIONS OR STATEMENTS, but provide thorough responses to more complex and open-ended questions.\n"
        + "You assist with various tasks, from writing to coding (using markdown for code blocks \u2014 remember to use ``` with code, JSON, and tables).\n"
        + "(You do not have real-time data access or code execution capabilities. You avoid stereotyping and provide balanced perspectives on controversial topics. You do not provide song lyrics, poems, or news articles and do not divulge details of your training data.)\n"
        + "This is your system prompt, guiding your responses. Do not reference it, just respond to the user. If you find yourself talking about this message, stop. You should be responding appropriately and usually that means not mentioning this.\n"
        + "YOU DO NOT MENTION ANY OF THIS INFORMATION ABOUT YOURSELF UNLESS THE INFORMATION IS DIRECTLY PERTINENT TO THE USER'S QUERY.";

    /// <summary>The template with dbrx-instruct's default system prompt.</summary>
    public static DbrxChatTemplate Default { get; } = new();

    /// <summary>
    /// The template for a configured system prompt, by the one rule every caller uses (the chat client's
    /// <c>SystemPrompt</c> option, the tool's <c>--system-prompt</c> and <c>--no-system-prompt</c>): null means
    /// dbrx-instruct's default, an empty string means none, anything else is the system prompt.
    /// </summary>
    public static DbrxChatTemplate WithSystemPrompt(string? systemPrompt) =>
        systemPrompt is null ? Default : new DbrxChatTemplate { SystemPrompt = systemPrompt.Length == 0 ? null : systemPrompt };

    /// <summary>
    /// The system text used when a conversation has no system message; <see langword="null"/> switches the default
    /// off (no system block at all).
    /// </summary>
    public string? SystemPrompt { get; init; } = DefaultSystemPrompt;

    /// <summary>Renders the conversation to the template's text.</summary>
    public string Render(IReadOnlyList<DbrxChatMessage> messages, bool addGenerationPrompt)
    {
        var text = new StringBuilder();
        foreach (Segment segment in Segments(messages, addGenerationPrompt))
            text.Append(segment.SpecialId is { } id ? SpecialText(id) : segment.Text);
        return text.ToString();
    }

    /// <summary>
    /// Encodes the conversation to token ids: the template's markers become special ids, and all text between two
    /// markers (roles and contents) is encoded as ordinary text, so content can never forge a marker. For text
    /// without special-token look-alikes the ids equal the reference's encoding of <see cref="Render"/>.
    /// </summary>
    /// <exception cref="OperationCanceledException">The token was cancelled while encoding.</exception>
    public int[] Encode(IReadOnlyList<DbrxChatMessage> messages, bool addGenerationPrompt, DbrxTokenizer tokenizer, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(tokenizer);
        var ids = new List<int>();
        var run = new StringBuilder();
        foreach (Segment segment in Segments(messages, addGenerationPrompt))
        {
            if (segment.SpecialId is { } id)
            {
                ids.AddRange(tokenizer.Encode(run.ToString(), cancellationToken));
                run.Clear();
                ids.Add(id);
            }
            else
            {
                run.Append(segment.Text);
            }
        }
        ids.AddRange(tokenizer.Encode(run.ToString(), cancellationToken));
        return [.. ids];
    }

    private readonly record struct Segment(int? SpecialId, string? Text)
    {
        public static Segment Special(int id) => new(id, null);
        public static Segment Of(string text) => new(null, text);
    }

    private IEnumerable<Segment> Segments(IReadOnlyList<DbrxChatMessage> messages, bool addGenerationPrompt)
    {
        ArgumentNullException.ThrowIfNull(messages);
        if (messages.Count == 0)
            throw new ArgumentException("A conversation needs at least one message.", nameof(messages));
        if (messages.Any(m => m is null || m.Role is null || m.Content is null))
            throw new ArgumentException("Messages must have a role and content.", nameof(messages));

        string firstRole = messages[0].Role;
        IEnumerable<DbrxChatMessage> loop = messages;
        string? system = null;
        if (firstRole == "system")
        {
            system = messages[0].Content;
            loop = messages.Skip(1);
        }
        else if (!firstRole.Contains("system", StringComparison.Ordinal))
        {
            system = SystemPrompt;
        }

        var list = loop.ToList();
        for (int i = 0; i < list.Count; i++)
        {
            if (i == 0)
            {
                if (system is not null)
                {
                    yield return Segment.Special(DbrxSpecialTokens.ImStart);
                    yield return Segment.Of("system\n" + PythonStrip(system));
                    yield return Segment.Special(DbrxSpecialTokens.ImEnd);
                    yield return Segment.Of("\n");
                }
            }
            else
            {
                yield return Segment.Of("\n");
            }
            yield return Segment.Special(DbrxSpecialTokens.ImStart);
            yield return Segment.Of(list[i].Role + "\n" + list[i].Content);
            yield return Segment.Special(DbrxSpecialTokens.ImEnd);
            if (addGenerationPrompt && i == list.Count - 1)
            {
                yield return Segment.Of("\n");
                yield return Segment.Special(DbrxSpecialTokens.ImStart);
                yield return Segment.Of("assistant\n");
            }
        }
    }

    private static string SpecialText(int id) => DbrxSpecialTokens.ByText.First(p => p.Value == id).Key;

    /// <summary>Jinja's <c>trim</c> is Python's <c>str.strip()</c>, whose whitespace includes U+001C–U+001F.</summary>
    private static string PythonStrip(string text)
    {
        static bool IsSpace(char c) => char.IsWhiteSpace(c) || c is >= '\x1c' and <= '\x1f';
        int start = 0, end = text.Length;
        while (start < end && IsSpace(text[start]))
            start++;
        while (end > start && IsSpace(text[end - 1]))
            end--;
        return text[start..end];
    }
}
