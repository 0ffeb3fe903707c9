namespace Dbrx.Inference.Generation;

/// <summary>
/// Finds stop sequences in streamed text. Text that could still turn into a stop sequence is held back, so a stop
/// sequence split across tokens is caught and no part of it is ever emitted.
/// </summary>
internal sealed class StopSequenceMatcher(IReadOnlyList<string> stops)
{
    private string pending = "";

    /// <summary>True once a stop sequence has been seen.</summary>
    public bool Stopped { get; private set; }

    /// <summary>Adds streamed text; returns what can be emitted now (the text before a stop sequence, if one completed).</summary>
    public string Push(string text)
    {
        if (Stopped)
            return "";
        if (stops.Count == 0)
            return text;
        pending += text;
        int first = -1;
        foreach (string stop in stops)
        {
            int at = pending.IndexOf(stop, StringComparison.Ordinal);
            if (at >= 0 && (first < 0 || at < first))
                first = at;
        }
        if (first >= 0)
        {
            Stopped = true;
            string before = pending[..first];
            pending = "";
            return before;
        }
        int hold = LongestSuffixThatStartsAStop();
        string ready = pending[..^hold];
        pending = pending[^hold..];
        return ready;
    }

    /// <summary>Ends the stream: held text that never became a stop sequence is released.</summary>
    public string Flush()
    {
        string rest = Stopped ? "" : pending;
        pending = "";
        return rest;
    }

    private int LongestSuffixThatStartsAStop()
    {
        int best = 0;
        foreach (string stop in stops)
        {
            for (int length = Math.Min(stop.Length - 1, pending.Length); length > best; length--)
            {
                if (pending.AsSpan(pending.Length - length).SequenceEqual(stop.AsSpan(0, length)))
                {
                    best = length;
                    break;
                }
            }
        }
        return best;
    }
}
