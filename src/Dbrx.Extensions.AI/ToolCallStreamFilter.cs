using System.Text;

namespace Dbrx.Extensions.AI;

/// <summary>
/// Streams answer text while holding back anything that is, or could still become, a tool-call envelope
/// (<c>{"tool_calls":</c>, whitespace allowed where JSON allows it), so calls are emitted once, complete, at the end,
/// and their JSON never leaks out as text. With a required call everything is held back. Each piece of text is
/// scanned once, so streaming an answer costs time linear in its length.
/// </summary>
internal sealed class ToolCallStreamFilter(bool holdEverything)
{
    private const string Key = "\"" + ToolCallProtocol.Key + "\"";

    private readonly StringBuilder answer = new();
    private int released;

    // The '{' that may open an envelope (−1: none), and how far the text after it matches: −1 before the key
    // (whitespace allowed), 0..Key.Length into the key, Key.Length after it (whitespace, then ':').
    private int candidate = -1;
    private int matched;
    private bool found;

    /// <summary>The whole answer so far.</summary>
    public string Answer => answer.ToString();

    /// <summary>Adds generated text; returns the text that can be shown now.</summary>
    public string Push(string text)
    {
        int start = answer.Length;
        answer.Append(text);
        if (holdEverything)
            return "";
        for (int i = start; i < answer.Length && !found; i++)
            Scan(i, answer[i]);
        int hold = candidate >= 0 ? candidate : answer.Length;
        string ready = answer.ToString(released, hold - released);
        released = hold;
        return ready;
    }

    private void Scan(int position, char c)
    {
        if (candidate >= 0)
        {
            if (matched < 0 && char.IsWhiteSpace(c) || matched == Key.Length && char.IsWhiteSpace(c))
                return;
            if (matched < Key.Length && c == Key[Math.Max(matched, 0)])
            {
                matched = Math.Max(matched, 0) + 1;
                return;
            }
            if (matched == Key.Length && c == ':')
            {
                found = true;
                return;
            }
            candidate = -1;
        }
        if (c == '{')
        {
            candidate = position;
            matched = -1;
        }
    }

    /// <summary>The held-back text that turned out not to be an envelope (call after parsing found no calls).</summary>
    public string Rest() => answer.ToString(released, answer.Length - released);
}
