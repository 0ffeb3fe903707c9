using Dbrx.Inference.Generation;
using Dbrx.Inference.Modeling;

namespace Dbrx.Inference.Tests.Support;

/// <summary>A request as <see cref="CacheRowPlan{TRequest}"/> sees it: its prompt, then the tokens chosen after it.</summary>
internal sealed class PlannedRequest(string name, int[] prompt)
{
    public int[] Prompt { get; } = prompt;

    /// <summary>The prompt, then the tokens generated so far; the last one is not yet in the cache while it runs.</summary>
    public List<int> Tokens { get; } = [.. prompt];

    public override string ToString() => name;
}

/// <summary>
/// Drives a <see cref="CacheRowPlan{TRequest}"/> as the generator does, applies the operations it returns to a model of
/// the KV cache that records which token each position holds, and asserts the plan's invariants after every call:
/// <list type="bullet">
/// <item>running requests are in rows 0..n−1 and the prompts being prefilled in the rows right after, at most the cache's rows;</item>
/// <item>each request's row holds its own tokens in every position below its length, and the plan's lengths are the cache's;</item>
/// <item>kept rows lie above the rows in use and hold exactly the tokens recorded for them, which are the first tokens of a request that ended;</item>
/// <item>free rows that keep nothing are empty;</item>
/// <item>no operation writes a row whose request keeps it across the call (a running row is never overwritten);</item>
/// <item>an admitted prompt starts from the longest prefix a kept row or a running row holds, never its last token.</item>
/// </list>
/// </summary>
internal sealed class CacheRowPlanHarness
{
    private readonly int[][] positions;
    private readonly long[] lengths;
    // The first tokens of each request that ended, as it left them: what a kept row may hold.
    private readonly List<int[]> left = [];

    public CacheRowPlanHarness(int rows, int capacity = 256, bool reuse = true)
    {
        Plan = new CacheRowPlan<PlannedRequest>(rows, reuse, request => request.Tokens);
        positions = [.. Enumerable.Range(0, rows).Select(_ => Enumerable.Repeat(-1, capacity).ToArray())];
        lengths = new long[rows];
        Reuse = reuse;
    }

    public CacheRowPlan<PlannedRequest> Plan { get; }

    public bool Reuse { get; }

    /// <summary>The operations of the last call, in order.</summary>
    public IReadOnlyList<CacheOperation> LastOperations { get; private set; } = [];

    /// <summary>Admits a request and checks that it starts from the longest prefix on offer; returns its cached length.</summary>
    public int Admit(PlannedRequest request)
    {
        int expected = Reuse ? LongestOnOffer(request.Prompt) : 0;
        Apply(() => Plan.Admit(request, request.Prompt));
        Assert.Equal(expected, Plan.LengthOf(request));
        return expected;
    }

    /// <summary>A forward pass writes the next <paramref name="count"/> prompt tokens of a request being prefilled.</summary>
    public void Prefill(PlannedRequest request, int count)
    {
        int row = Plan.RowOf(request), start = (int)lengths[row];
        Assert.True(start + count <= request.Prompt.Length, "prefilled beyond the prompt");
        Write(row, start, request.Prompt.AsSpan(start, count));
        Apply(() => [Plan.Written(request, count)]);
    }

    /// <summary>The first prompt being prefilled is in whole: it joins and its first token is chosen.</summary>
    public void Join(PlannedRequest request, int firstToken)
    {
        Assert.Equal(request.Prompt.Length, Plan.LengthOf(request));
        Apply(() =>
        {
            Plan.Join(request);
            request.Tokens.Add(firstToken);
            return [];
        });
    }

    /// <summary>One decode step: each running request's last token is written at its length, then a token is chosen.</summary>
    public void Decode(Func<int> nextToken)
    {
        foreach (PlannedRequest request in Plan.Running)
        {
            int row = Plan.RowOf(request);
            Write(row, (int)lengths[row], [request.Tokens[^1]]);
        }
        Apply(() =>
        {
            CacheOperation[] committed = [.. Plan.Running.Select(request => Plan.Written(request, 1))];
            foreach (PlannedRequest request in Plan.Running)
                request.Tokens.Add(nextToken());
            return committed;
        });
    }

    /// <summary>Running requests end (finished, cancelled, or failed in their own choice).</summary>
    public void Release(params PlannedRequest[] ended)
    {
        foreach (PlannedRequest request in ended)
            left.Add([.. request.Tokens.Take((int)Plan.LengthOf(request))]);
        Apply(() => Plan.Release(ended));
    }

    /// <summary>Requests whose prefill failed or was cancelled.</summary>
    public void Drop(params PlannedRequest[] requests) => Apply(() => Plan.Drop(requests));

    /// <summary>A failure no request owns.</summary>
    public void Clear() => Apply(Plan.Clear);

    private void Apply(Func<IReadOnlyList<CacheOperation>> change)
    {
        Dictionary<PlannedRequest, int> before = RowsInUse();
        LastOperations = change();
        Dictionary<PlannedRequest, int> after = RowsInUse();
        int[] stayed = [.. after.Where(pair => before.TryGetValue(pair.Key, out int row) && row == pair.Value).Select(pair => pair.Value)];
        foreach (CacheOperation operation in LastOperations)
        {
            int? written = operation switch
            {
                CacheOperation.CopyPrefix copy => copy.To,
                CacheOperation.MoveRow move => move.To,
                CacheOperation.ResetRow reset => reset.Row,
                _ => null,
            };
            Assert.False(written is int row && stayed.Contains(row), $"{operation} overwrites the row of a request that keeps it");
            ApplyToModel(operation);
        }
        AssertInvariants();
    }

    private Dictionary<PlannedRequest, int> RowsInUse() =>
        Plan.Running.Concat(Plan.Prefilling).ToDictionary(request => request, Plan.RowOf);

    /// <summary>What <see cref="DbrxKvCache"/> does with each operation, on token ids instead of keys and values.</summary>
    private void ApplyToModel(CacheOperation operation)
    {
        switch (operation)
        {
            case CacheOperation.CopyPrefix(int from, int to, long length):
                Assert.InRange(length, 0, lengths[from]);
                Array.Copy(positions[from], positions[to], length);
                lengths[to] = length;
                break;
            case CacheOperation.MoveRow(int from, int to):
                Assert.NotEqual(from, to);
                Array.Copy(positions[from], positions[to], lengths[from]);
                lengths[to] = lengths[from];
                lengths[from] = 0;
                break;
            case CacheOperation.ResetRow(int row):
                lengths[row] = 0;
                break;
            case CacheOperation.SetLength(int row, long length):
                Assert.InRange(length, 0, positions[row].Length);
                lengths[row] = length;
                break;
        }
    }

    private void Write(int row, int start, ReadOnlySpan<int> tokens) => tokens.CopyTo(positions[row].AsSpan(start));

    private void AssertInvariants()
    {
        int running = Plan.Running.Count, inUse = Plan.InUse;
        Assert.InRange(inUse, 0, Plan.Rows);
        Assert.Equal(inUse, Plan.Running.Concat(Plan.Prefilling).Distinct().Count());
        Assert.Equal(Enumerable.Range(0, running), Plan.Running.Select(Plan.RowOf));
        Assert.Equal(Enumerable.Range(running, inUse - running), Plan.Prefilling.Select(Plan.RowOf));
        Assert.Equal(lengths, Plan.Lengths);
        foreach (PlannedRequest request in Plan.Running.Concat(Plan.Prefilling))
        {
            int row = Plan.RowOf(request);
            Assert.Equal(request.Tokens.Take((int)lengths[row]), positions[row].Take((int)lengths[row]));
        }
        foreach (PlannedRequest request in Plan.Running)
            Assert.Equal(request.Tokens.Count - 1, lengths[Plan.RowOf(request)]);
        foreach ((int row, int[] tokens) in Plan.Kept)
        {
            Assert.InRange(row, inUse, Plan.Rows - 1);
            Assert.Equal(tokens.Length, lengths[row]);
            Assert.Equal(tokens, positions[row].Take(tokens.Length));
            Assert.Contains(left, ended => ended.SequenceEqual(tokens));
        }
        for (int row = inUse; row < Plan.Rows; row++)
        {
            if (!Plan.Kept.ContainsKey(row))
                Assert.Equal(0, lengths[row]);
        }
        if (!Reuse)
            Assert.Empty(Plan.Kept);
    }

    /// <summary>The longest start of <paramref name="prompt"/>, all but its last token, that a kept row or a running row holds.</summary>
    private int LongestOnOffer(int[] prompt)
    {
        IEnumerable<IEnumerable<int>> offered = Plan.Kept.Values.Concat(
            Plan.Running.Select(request => request.Tokens.Take((int)Plan.LengthOf(request))));
        return offered.Select(tokens => tokens.Zip(prompt).TakeWhile(pair => pair.First == pair.Second).Count())
            .Append(0).Max(length => Math.Min(length, prompt.Length - 1));
    }
}
