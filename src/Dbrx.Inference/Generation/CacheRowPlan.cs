namespace Dbrx.Inference.Generation;

/// <summary>
/// Which KV-cache row each request of the generator uses, and what the free rows keep: the row rules, in one place and
/// without tensors. Every change returns the <see cref="CacheOperation"/>s that make the cache match; once they are
/// applied, <see cref="LengthOf"/> is the cache's length of the request's row.
/// </summary>
/// <remarks>
/// The rules:
/// <list type="number">
/// <item>Running requests sit in rows 0..n−1 (a decode step runs over the first rows of the cache as a view, without
/// copies). Prompts being prefilled sit in the rows right after them: the one prompt prefilled chunk by chunk, or a
/// group prefilled together.</item>
/// <item>A new request takes the first row after those. The longest prefix of its prompt that a kept row or a running
/// request's row holds is copied into it (never the prompt's last token, which must run to give the first new token's
/// logits); with none, the row is emptied. A kept row it takes that it does not copy from moves first to an empty row
/// above, when there is one; else what it kept is lost.</item>
/// <item>A prompt whose last token is in joins the running requests, in the row it already has.</item>
/// <item>A running request that ends (finished, cancelled, or failed in its own choice) leaves: the last running row
/// moves into its row and the prompts being prefilled follow it down. Several leave highest row first, so the row that
/// moves into a freed one is always one still running.</item>
/// <item>What it leaves is kept for a later prompt that starts the same way (with prefix reuse on): in place when its
/// row was the last one in use; else copied to a free row above the rows in use: the highest empty one, else the one
/// kept longest ago (overwritten); not at all when no row is free.</item>
/// <item>A request dropped because its prefill was cancelled or failed is not kept; the rows after it move down.</item>
/// </list>
/// So rows 0..n−1 run, the next ones are being prefilled, kept rows lie above all of them, and free rows that keep
/// nothing are empty. <c>CacheRowPlanTests</c> checks these invariants after every call.
/// </remarks>
/// <typeparam name="TRequest">The generator's request: its identity, and (through the delegate given) its tokens.</typeparam>
internal sealed class CacheRowPlan<TRequest> where TRequest : class
{
    private readonly Func<TRequest, IEnumerable<int>> tokensOf;
    private readonly bool reusePrefixes;
    private readonly List<TRequest> running = [];
    private readonly List<TRequest> prefilling = [];
    private readonly long[] lengths;
    private readonly Dictionary<int, int[]> kept = [];
    // Kept rows in the order they were filled, oldest first: the oldest is overwritten when no row is empty.
    private readonly List<int> keptOrder = [];

    /// <param name="rows">The cache's rows.</param>
    /// <param name="reusePrefixes">Keep what requests leave and copy shared prefixes (<see cref="DbrxGeneratorOptions.ReusePromptPrefixes"/>).</param>
    /// <param name="tokensOf">A request's tokens, prompt then output, in the order its row holds them.</param>
    public CacheRowPlan(int rows, bool reusePrefixes, Func<TRequest, IEnumerable<int>> tokensOf)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(rows);
        lengths = new long[rows];
        this.reusePrefixes = reusePrefixes;
        this.tokensOf = tokensOf;
    }

    /// <summary>The cache's rows.</summary>
    public int Rows => lengths.Length;

    /// <summary>The running requests; the one at index i is in row i.</summary>
    public IReadOnlyList<TRequest> Running => running;

    /// <summary>The requests being prefilled, in the rows after the running ones.</summary>
    public IReadOnlyList<TRequest> Prefilling => prefilling;

    /// <summary>Rows used by requests, running or being prefilled.</summary>
    public int InUse => running.Count + prefilling.Count;

    /// <summary>Whether a new request can be admitted.</summary>
    public bool HasFreeRow => InUse < Rows;

    /// <summary>Positions each row holds, as the cache has them once the operations given out are applied.</summary>
    public IReadOnlyList<long> Lengths => lengths;

    /// <summary>The free rows that keep what a request left, and its tokens.</summary>
    public IReadOnlyDictionary<int, int[]> Kept => kept;

    /// <summary>The row of a running request or one being prefilled.</summary>
    public int RowOf(TRequest request)
    {
        int row = running.IndexOf(request);
        if (row >= 0)
            return row;
        int index = prefilling.IndexOf(request);
        return index >= 0 ? running.Count + index : throw new InvalidOperationException("The request has no cache row.");
    }

    /// <summary>Positions the request's row holds: where its next token goes.</summary>
    public long LengthOf(TRequest request) => lengths[RowOf(request)];

    /// <summary>
    /// The row whose keys and values give <paramref name="prompt"/> the longest start: a kept row, or a running
    /// request's (its positions below its length never change), and how many tokens; (−1, 0) when none.
    /// </summary>
    public (int Row, int Length) CachedPrefix(IReadOnlyList<int> prompt)
    {
        (int Row, int Length) best = (-1, 0);
        if (!reusePrefixes)
            return best;
        foreach ((int row, int[] tokens) in kept)
        {
            int length = Reusable(tokens, tokens.Length, prompt);
            if (length > best.Length)
                best = (row, length);
        }
        for (int row = 0; row < running.Count; row++)
        {
            int length = Reusable(tokensOf(running[row]), lengths[row], prompt);
            if (length > best.Length)
                best = (row, length);
        }
        return best;
    }

    /// <summary>
    /// Gives <paramref name="request"/> the first free row, holding the longest cached prefix of
    /// <paramref name="prompt"/> (<see cref="CachedPrefix"/>; <see cref="LengthOf"/> says how long); it is prefilled
    /// from there and joins the running requests with <see cref="Join"/>. When <paramref name="loadedPrefix"/> is longer
    /// than any row's prefix, the row is instead emptied and given that length: the caller fills those positions from
    /// elsewhere (the prefix cache's blocks) before the next forward pass.
    /// </summary>
    public IReadOnlyList<CacheOperation> Admit(TRequest request, IReadOnlyList<int> prompt, int loadedPrefix = 0)
    {
        if (!HasFreeRow)
            throw new InvalidOperationException($"Every one of the {Rows} cache rows is in use.");
        var operations = new List<CacheOperation>();
        int row = InUse;
        (int source, int length) = CachedPrefix(prompt);
        if (loadedPrefix > length)
            (source, length) = (-1, 0);
        int[]? left = kept.GetValueOrDefault(row);
        Forget(row);
        if (left is not null && source != row && EmptyRow(row + 1) is int empty)
        {
            Move(row, empty, operations);
            Keep(empty, left);
        }
        if (length > 0)
        {
            operations.Add(new CacheOperation.CopyPrefix(source, row, length));
            lengths[row] = length;
        }
        else
        {
            Reset(row, operations);
            if (loadedPrefix > 0)
            {
                lengths[row] = loadedPrefix;
                operations.Add(new CacheOperation.SetLength(row, loadedPrefix));
            }
        }
        prefilling.Add(request);
        return operations;
    }

    /// <summary>A forward pass wrote <paramref name="tokens"/> more of the request's tokens into its row: commits them.</summary>
    public CacheOperation Written(TRequest request, int tokens)
    {
        int row = RowOf(request);
        lengths[row] += tokens;
        return new CacheOperation.SetLength(row, lengths[row]);
    }

    /// <summary>The first prompt being prefilled is in whole: it runs, in the row it has.</summary>
    public void Join(TRequest request)
    {
        if (prefilling.Count == 0 || prefilling[0] != request)
            throw new InvalidOperationException("Only the first prompt being prefilled can join the running requests.");
        prefilling.RemoveAt(0);
        running.Add(request);
    }

    /// <summary>Running requests end; their rows are kept or freed as the rules say.</summary>
    public IReadOnlyList<CacheOperation> Release(IEnumerable<TRequest> ended)
    {
        var operations = new List<CacheOperation>();
        foreach (int row in ended.Select(RowOf).OrderDescending())
        {
            if (row >= running.Count)
                throw new InvalidOperationException("Only running requests are released; a prompt being prefilled is dropped.");
            Remove(row, keep: true, operations);
        }
        return operations;
    }

    /// <summary>
    /// Requests whose own prefill failed or was cancelled, running or not yet: their rows are freed, nothing is kept.
    /// Requests that no longer have a row are skipped.
    /// </summary>
    public IReadOnlyList<CacheOperation> Drop(IEnumerable<TRequest> requests)
    {
        var operations = new List<CacheOperation>();
        int[] rows = [.. requests.Where(r => running.Contains(r) || prefilling.Contains(r)).Select(RowOf).OrderDescending()];
        foreach (int row in rows)
            Remove(row, keep: false, operations);
        return operations;
    }

    /// <summary>Every row's contents are unknown (a failure no request owns): the plan and the cache start empty.</summary>
    public IReadOnlyList<CacheOperation> Clear()
    {
        running.Clear();
        prefilling.Clear();
        kept.Clear();
        keptOrder.Clear();
        var operations = new List<CacheOperation>();
        for (int row = 0; row < Rows; row++)
            Reset(row, operations);
        return operations;
    }

    private void Remove(int row, bool keep, List<CacheOperation> operations)
    {
        if (row >= running.Count)
        {
            // Being prefilled: emptied, and the prompts after it move down.
            prefilling.RemoveAt(row - running.Count);
            Reset(row, operations);
            for (int next = row + 1; next <= InUse; next++)
                Move(next, next - 1, operations);
            return;
        }
        int last = running.Count - 1;
        bool keptInPlace = keep && KeepLeft(row, operations);
        if (row != last)
        {
            Move(last, row, operations);
            running[row] = running[last];
        }
        running.RemoveAt(last);
        if (!keptInPlace)
            Reset(last, operations);
        for (int next = last + 1; next <= InUse; next++)
            Move(next, next - 1, operations);
    }

    /// <summary>Keeps what the running request in <paramref name="row"/> leaves; true when it stays in place (the row must not be reset).</summary>
    private bool KeepLeft(int row, List<CacheOperation> operations)
    {
        long length = lengths[row];
        if (!reusePrefixes || length == 0)
            return false;
        int[] tokens = [.. tokensOf(running[row]).Take((int)length)];
        if (row == InUse - 1)
        {
            Keep(row, tokens);
            return true;
        }
        if (RowToFill() is int free)
        {
            Move(row, free, operations);
            Keep(free, tokens);
        }
        return false;
    }

    /// <summary>A free row above the rows in use to keep a request's tokens in: the highest empty one, else the one kept longest ago. Null when none is free.</summary>
    private int? RowToFill() => EmptyRow(InUse) ?? keptOrder.Where(row => row >= InUse).Select(row => (int?)row).FirstOrDefault();

    /// <summary>The highest row from <paramref name="lowest"/> (a row above those in use) up that keeps nothing; null when none.</summary>
    /// <remarks>From the top: the rows in use grow from row 0, so rows filled high are taken last.</remarks>
    private int? EmptyRow(int lowest)
    {
        for (int row = Rows - 1; row >= lowest; row--)
        {
            if (!kept.ContainsKey(row))
                return row;
        }
        return null;
    }

    private void Keep(int row, int[] tokens)
    {
        Forget(row);
        kept[row] = tokens;
        keptOrder.Add(row);
    }

    private void Forget(int row)
    {
        if (kept.Remove(row))
            keptOrder.Remove(row);
    }

    private void Move(int from, int to, List<CacheOperation> operations)
    {
        operations.Add(new CacheOperation.MoveRow(from, to));
        lengths[to] = lengths[from];
        lengths[from] = 0;
    }

    private void Reset(int row, List<CacheOperation> operations)
    {
        operations.Add(new CacheOperation.ResetRow(row));
        lengths[row] = 0;
    }

    /// <summary>
    /// How many of <paramref name="prompt"/>'s first tokens a row can give: those it shares with the row's
    /// <paramref name="tokens"/>, of which it holds the first <paramref name="available"/>; at most all but the prompt's
    /// last token.
    /// </summary>
    private static int Reusable(IEnumerable<int> tokens, long available, IReadOnlyList<int> prompt)
    {
        int limit = (int)Math.Min(available, prompt.Count - 1), length = 0;
        using IEnumerator<int> token = tokens.GetEnumerator();
        while (length < limit && token.MoveNext() && token.Current == prompt[length])
            length++;
        return length;
    }
}
