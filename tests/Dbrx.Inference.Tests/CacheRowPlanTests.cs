using Dbrx.Inference.Generation;
using Dbrx.Inference.Tests.Support;

namespace Dbrx.Inference.Tests;

/// <summary>
/// The generator's row rules (<see cref="CacheRowPlan{TRequest}"/>): which row a request gets, what it copies, what is
/// kept, moved and overwritten. Every call goes through <see cref="CacheRowPlanHarness"/>, which applies the operations
/// to a model of the cache and asserts the plan's invariants after each.
/// </summary>
public sealed class CacheRowPlanTests
{
    private static PlannedRequest Request(string name, params int[] prompt) => new(name, prompt);

    /// <summary>Admits a request, prefills the rest of its prompt and lets it join with <paramref name="firstToken"/>.</summary>
    private static PlannedRequest Run(CacheRowPlanHarness harness, string name, int[] prompt, int firstToken = 1000)
    {
        var request = Request(name, prompt);
        int cached = harness.Admit(request);
        if (cached < prompt.Length)
            harness.Prefill(request, prompt.Length - cached);
        harness.Join(request, firstToken);
        return request;
    }

    private static CacheOperation.MoveRow Move(int from, int to) => new(from, to);

    private static CacheOperation.ResetRow Reset(int row) => new(row);

    [Fact]
    public void The_longest_shared_prefix_wins_and_the_prompts_last_token_is_never_reused()
    {
        var harness = new CacheRowPlanHarness(rows: 4);
        var requests = new[] { Run(harness, "a", [1, 2, 3, 4, 5, 6]), Run(harness, "b", [1, 2, 9]), Run(harness, "c", [7, 7]) };
        harness.Release(requests);
        Assert.Equal([0, 1, 2], harness.Plan.Kept.Keys.Order());
        var plan = harness.Plan;

        Assert.Equal((0, 4), plan.CachedPrefix([1, 2, 3, 4, 8]));
        Assert.Equal((0, 3), plan.CachedPrefix([1, 2, 3, 4]));     // all but the last prompt token
        Assert.Equal((1, 3), plan.CachedPrefix([1, 2, 9, 9, 9]));
        Assert.Equal((-1, 0), plan.CachedPrefix([3, 1, 2]));
        Assert.Equal((-1, 0), plan.CachedPrefix([1]));             // a one-token prompt must run whole
    }

    /// <summary>
    /// A request that ends below a running one is copied to a free row above the rows in use: the highest empty one,
    /// else the one kept longest ago; a refilled row is the newest. With every row in use nothing is kept.
    /// </summary>
    [Fact]
    public void Ended_requests_fill_empty_rows_from_the_top_then_overwrite_the_oldest()
    {
        var harness = new CacheRowPlanHarness(rows: 4);
        var x0 = Run(harness, "x0", [10, 11]);
        var x1 = Run(harness, "x1", [20, 21]);
        harness.Release(x0);
        Assert.Equal([Move(0, 3), Move(1, 0), Reset(1)], harness.LastOperations);
        Assert.Equal([3], harness.Plan.Kept.Keys);

        var y = Run(harness, "y", [30]);
        harness.Release(x1);
        Assert.Equal([2, 3], harness.Plan.Kept.Keys.Order());      // the next empty row from the top
        Assert.Equal([y], harness.Plan.Running);

        var z = Run(harness, "z", [40]);
        harness.Release(y);                                         // no empty row: the oldest (x0's) is overwritten
        Assert.Equal([20, 21], harness.Plan.Kept[2]);
        Assert.Equal([30], harness.Plan.Kept[3]);

        Run(harness, "w", [50]);
        harness.Release(z);                                         // row 3 was refilled: row 2 is now the oldest
        Assert.Equal([40], harness.Plan.Kept[2]);
        Assert.Equal([30], harness.Plan.Kept[3]);

        var full = new CacheRowPlanHarness(rows: 2);
        var first = Run(full, "first", [1, 2]);
        Run(full, "second", [3, 4]);
        full.Release(first);                                        // every row in use: nothing is kept
        Assert.Empty(full.Plan.Kept);
        Assert.Equal([Move(1, 0), Reset(1)], full.LastOperations);
    }

    /// <summary>
    /// A request kept in place in row 0 must give the row to a new request that shares nothing with it: what it kept
    /// moves to an empty row above, and its next turn still starts from it. When no row above is empty, it is lost
    /// (never moved onto another kept row).
    /// </summary>
    [Fact]
    public void A_kept_row_a_new_request_needs_moves_up_to_an_empty_row_or_is_lost()
    {
        var harness = new CacheRowPlanHarness(rows: 3);
        var x = Run(harness, "x", [1, 2, 3]);
        harness.Release(x);
        Assert.Equal([0], harness.Plan.Kept.Keys);

        var y = Request("y", 9, 9);
        harness.Admit(y);
        Assert.Equal([Move(0, 2), Reset(0)], harness.LastOperations);
        Assert.Equal([2], harness.Plan.Kept.Keys);
        Assert.Equal((2, 3), harness.Plan.CachedPrefix([1, 2, 3, 1000, 7]));
        harness.Prefill(y, 2);
        harness.Join(y, 5);

        var v = Run(harness, "v", [4, 4]);
        harness.Release(v);                                         // kept in place in row 1
        Assert.Equal([1, 2], harness.Plan.Kept.Keys.Order());
        harness.Admit(Request("u", 6, 6));                          // row 1 again; row 2 keeps x, so v's is lost
        Assert.Equal([Reset(1)], harness.LastOperations);
        Assert.Equal([2], harness.Plan.Kept.Keys);
        Assert.Equal([1, 2, 3], harness.Plan.Kept[2]);
    }

    /// <summary>A request that starts like the one being taken over copies from the kept row in place, with no move.</summary>
    [Fact]
    public void A_request_continuing_the_row_it_takes_reuses_it_in_place()
    {
        var harness = new CacheRowPlanHarness(rows: 2);
        var x = Run(harness, "x", [1, 2, 3]);
        harness.Release(x);
        Assert.Equal(3, harness.Admit(Request("next turn", 1, 2, 3, 1000, 4)));
        Assert.Equal([new CacheOperation.CopyPrefix(0, 0, 3)], harness.LastOperations);
        Assert.Empty(harness.Plan.Kept);
    }

    /// <summary>The last running row moves into the freed one and the prompt being prefilled follows it down.</summary>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Releasing_moves_the_last_running_row_down_and_the_prompt_being_prefilled_follows(bool freeRowAbove)
    {
        var harness = new CacheRowPlanHarness(rows: freeRowAbove ? 5 : 4);
        var a = Run(harness, "a", [1, 2]);
        var b = Run(harness, "b", [3, 4]);
        var c = Run(harness, "c", [5, 6]);
        var d = Request("d", 7, 8, 9);
        harness.Admit(d);
        harness.Prefill(d, 2);

        harness.Release(a);
        CacheOperation[] down = [Move(2, 0), Reset(2), Move(3, 2)];
        Assert.Equal(freeRowAbove ? [Move(0, 4), .. down] : down, harness.LastOperations);
        Assert.Equal([c, b], harness.Plan.Running);
        Assert.Equal(2, harness.Plan.RowOf(d));
        Assert.Equal(freeRowAbove ? new[] { 4 } : [], harness.Plan.Kept.Keys);
        harness.Prefill(d, 1);
        harness.Join(d, 1000);
        Assert.Equal([c, b, d], harness.Plan.Running);
    }

    /// <summary>Several end in one step, highest row first: the last is kept in place, the other copied up.</summary>
    [Fact]
    public void Several_ending_together_leave_highest_row_first()
    {
        var harness = new CacheRowPlanHarness(rows: 6);
        var a = Run(harness, "a", [1]);
        var b = Run(harness, "b", [2]);
        var c = Run(harness, "c", [3]);
        harness.Release(a, c);
        Assert.Equal([Move(0, 5), Move(1, 0), Reset(1)], harness.LastOperations);
        Assert.Equal([b], harness.Plan.Running);
        Assert.Equal([2, 5], harness.Plan.Kept.Keys.Order());
    }

    /// <summary>
    /// A running request's row offers its prompt and the tokens decoded so far, up to its length; a prompt being
    /// prefilled offers nothing.
    /// </summary>
    [Fact]
    public void Running_rows_offer_their_prefix_and_prompts_being_prefilled_do_not()
    {
        var harness = new CacheRowPlanHarness(rows: 4);
        var running = Run(harness, "running", [1, 2, 3], firstToken: 4);
        harness.Decode(() => 5);                                    // the row holds 1 2 3 4; 5 is not in yet
        var half = Request("half in", 8, 8, 8, 8);
        harness.Admit(half);
        harness.Prefill(half, 2);

        Assert.Equal(4, harness.Admit(Request("copies", 1, 2, 3, 4, 5, 6)));
        Assert.Equal([new CacheOperation.CopyPrefix(0, 2, 4)], harness.LastOperations);
        Assert.Equal(0, harness.Admit(Request("alone", 8, 8, 8, 8)));
        Assert.Equal([running], harness.Plan.Running);
    }

    /// <summary>A prompt dropped while being prefilled (cancelled, failed) is not kept, and the one after it moves down.</summary>
    [Fact]
    public void A_dropped_prompt_is_not_kept_and_the_rows_after_it_move_down()
    {
        var harness = new CacheRowPlanHarness(rows: 4);
        var first = Request("first", 1, 2, 3);
        var second = Request("second", 4, 5, 6);
        harness.Admit(first);
        harness.Admit(second);
        harness.Prefill(first, 3);
        harness.Prefill(second, 3);
        harness.Drop(first);
        Assert.Equal([Reset(0), Move(1, 0)], harness.LastOperations);
        Assert.Equal([second], harness.Plan.Prefilling);
        harness.Join(second, 7);
        harness.Drop(second);                                       // failed in its first choice: not kept either
        Assert.Empty(harness.Plan.Kept);
        Assert.Equal(0, harness.Plan.InUse);
    }

    [Fact]
    public void Without_prefix_reuse_nothing_is_kept_or_copied()
    {
        var harness = new CacheRowPlanHarness(rows: 3, reuse: false);
        var a = Run(harness, "a", [1, 2, 3]);
        var b = Run(harness, "b", [1, 2, 3]);
        harness.Release(a, b);
        Assert.Empty(harness.Plan.Kept);
        Assert.Equal(0, harness.Admit(Request("again", 1, 2, 3)));
    }

    [Fact]
    public void Clearing_empties_every_row()
    {
        var harness = new CacheRowPlanHarness(rows: 3);
        harness.Release(Run(harness, "kept", [1, 2]));
        Run(harness, "running", [3]);
        harness.Admit(Request("prefilling", 1, 2, 5));
        harness.Clear();
        Assert.Equal([Reset(0), Reset(1), Reset(2)], harness.LastOperations);
        Assert.Equal((0, 0), (harness.Plan.InUse, harness.Plan.Kept.Count));
    }

    /// <summary>
    /// Random sequences of what the generator does (admit, prefill in chunks, join, decode, end, drop, fail), with prompts
    /// that often start like an earlier request's tokens, keep every invariant the harness checks.
    /// </summary>
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Random_sequences_keep_the_invariants(bool reuse)
    {
        for (int seed = 0; seed < 200; seed++)
        {
            var random = new Random(seed);
            var harness = new CacheRowPlanHarness(rows: random.Next(1, 7), reuse: reuse);
            var plan = harness.Plan;
            var seen = new List<PlannedRequest>();
            int Fresh() => random.Next(100, 10_000);
            T[] Some<T>(IEnumerable<T> items) => [.. items.Where(_ => random.Next(2) == 0)];
            for (int step = 0; step < 150; step++)
            {
                switch (random.Next(10))
                {
                    case 0 or 1 when plan.HasFreeRow:
                        int[] start = seen.Count > 0 && random.Next(3) > 0 ? [.. seen[random.Next(seen.Count)].Tokens.Take(random.Next(1, 120))] : [];
                        var request = Request($"r{seen.Count}", [.. start, .. Enumerable.Range(0, random.Next(start.Length == 0 ? 1 : 0, 5)).Select(_ => Fresh())]);
                        seen.Add(request);
                        harness.Admit(request);
                        break;
                    case 2 or 3 when plan.Prefilling.Count > 0:
                        var prefilling = plan.Prefilling[random.Next(plan.Prefilling.Count)];
                        int remaining = prefilling.Prompt.Length - (int)plan.LengthOf(prefilling);
                        if (remaining > 0)
                            harness.Prefill(prefilling, random.Next(1, remaining + 1));
                        else if (prefilling == plan.Prefilling[0])
                            harness.Join(prefilling, Fresh());
                        break;
                    case 4 or 5 or 6 when plan.Running.Count > 0:
                        harness.Release([.. plan.Running.Where(r => r.Tokens.Count >= 120)]);   // finished by length
                        harness.Decode(Fresh);
                        break;
                    case 7 when plan.Running.Count > 0:
                        harness.Release(Some(plan.Running));
                        break;
                    case 8:
                        harness.Drop(Some(plan.Prefilling.Concat(plan.Running.TakeLast(1))));
                        break;
                    case 9 when random.Next(10) == 0:
                        harness.Clear();
                        break;
                }
            }
        }
    }
}
