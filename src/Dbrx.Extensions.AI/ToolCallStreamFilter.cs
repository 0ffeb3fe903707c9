using System.Text;

namespace Dbrx.Extensions.AI;

/// <summary>
/// Streams answer text while holding back anything that is, or could still become, a tool-call envelope, so calls
/// are emitted once, complete, at the end, and their JSON never leaks out as text. With a required call everything
/// is held back.
/// </summary>
internal sealed class ToolCallStreamFilter(bool holdEverything)
{
    private readonly StringBuilder answer = new();
    private int released;

    /// <summary>The whole answer so far.</summary>
    public string Answer => answer.ToString();

    /// <summary>Adds generated text; returns the text that can be shown now.</summary>
    public string Push(string text)
    {
        answer.Append(text);
        if (holdEverything)
            return "";
        string all = answer.ToString();
        // Release up to the envelope, or else up to the first '{' that could still open one.
        int hold = ToolCallProtocol.FindEnvelope(all);
        if (hold < 0)
        {
            hold = all.Length;
            for (int i = released; i < all.Length; i++)
            {
                if (all[i] == '{' && ToolCallProtocol.CouldBecomeEnvelope(all, i))
                {
                    hold = i;
                    break;
                }
            }
        }
        hold = Math.Max(hold, released);
        string ready = all[released..hold];
        released = hold;
        return ready;
    }

    /// <summary>The held-back text that turned out not to be an envelope (call after parsing found no calls).</summary>
    public string Rest() => Answer[released..];
}
