namespace Dbrx.Inference.Generation;

/// <summary>
/// Free KV-cache rows that still hold a finished sequence's keys and values, with the tokens behind them, so that a
/// new prompt starting the same way (the next turn of a chat, an agent's fixed system prompt and tool list) prefills
/// only what differs. Bookkeeping only: the generator copies the cache rows and tells this which rows it takes.
/// </summary>
internal sealed class CachedPrefixes
{
    private readonly Dictionary<int, int[]> held = [];
    // Rows in the order they were filled, oldest first: the oldest is overwritten when no row is empty.
    private readonly List<int> age = [];

    /// <summary>Rows holding a finished sequence.</summary>
    public int Count => held.Count;

    /// <summary>Records that <paramref name="row"/> holds the keys and values of <paramref name="tokens"/>, from position 0.</summary>
    public void Hold(int row, int[] tokens)
    {
        Forget(row);
        held[row] = tokens;
        age.Add(row);
    }

    /// <summary>Whether <paramref name="row"/> holds a finished sequence.</summary>
    public bool Holds(int row) => held.ContainsKey(row);

    /// <summary>The row is taken for other use: what it held is gone.</summary>
    public void Forget(int row)
    {
        if (held.Remove(row))
            age.Remove(row);
    }

    /// <summary>Every row is gone (the cache was reset).</summary>
    public void Clear()
    {
        held.Clear();
        age.Clear();
    }

    /// <summary>The kept row sharing the longest prefix with <paramref name="prompt"/>, and its <see cref="Reusable"/> length; (−1, 0) when none.</summary>
    public (int Row, int Length) Longest(IReadOnlyList<int> prompt)
    {
        (int Row, int Length) best = (-1, 0);
        foreach ((int row, int[] tokens) in held)
        {
            int length = Reusable(tokens, tokens.Length, prompt);
            if (length > best.Length)
                best = (row, length);
        }
        return best;
    }

    /// <summary>
    /// How many of <paramref name="prompt"/>'s first tokens a cache row can give: those it shares with the row's
    /// <paramref name="tokens"/>, of which the row holds the first <paramref name="available"/>; at most all but the
    /// prompt's last token, which must run through the model to give the first new token's logits.
    /// </summary>
    public static int Reusable(IEnumerable<int> tokens, long available, IReadOnlyList<int> prompt)
    {
        int limit = (int)Math.Min(available, prompt.Count - 1), length = 0;
        using IEnumerator<int> token = tokens.GetEnumerator();
        while (length < limit && token.MoveNext() && token.Current == prompt[length])
            length++;
        return length;
    }

    /// <summary>
    /// A row from <paramref name="firstFree"/> up to <paramref name="rows"/> to keep a finished sequence in: an empty one,
    /// else the one filled longest ago. Null when there is no free row.
    /// </summary>
    public int? RowToFill(int firstFree, int rows) =>
        EmptyRow(firstFree, rows) ?? age.Where(row => row >= firstFree).Select(row => (int?)row).FirstOrDefault();

    /// <summary>The highest row from <paramref name="firstFree"/> up to <paramref name="rows"/> that holds nothing; null when none.</summary>
    /// <remarks>From the top: the rows in use grow from row 0, so rows filled high are taken last.</remarks>
    public int? EmptyRow(int firstFree, int rows)
    {
        for (int row = rows - 1; row >= firstFree; row--)
        {
            if (!held.ContainsKey(row))
                return row;
        }
        return null;
    }

    /// <summary>What <paramref name="from"/> held was moved to <paramref name="to"/>.</summary>
    public void Moved(int from, int to)
    {
        int[] tokens = held[from];
        Forget(from);
        Hold(to, tokens);
    }
}
