using Dbrx.Inference.Generation;

namespace Dbrx.Inference.Tests;

/// <summary>Which kept row a prompt starts from, and which free row a finished sequence is kept in.</summary>
public sealed class CachedPrefixesTests
{
    [Fact]
    public void The_longest_shared_prefix_wins_and_the_prompts_last_token_is_never_reused()
    {
        var kept = new CachedPrefixes();
        kept.Hold(5, [1, 2, 3, 4, 5, 6]);
        kept.Hold(6, [1, 2, 9]);
        kept.Hold(7, [7, 7]);

        Assert.Equal((5, 4), kept.Longest([1, 2, 3, 4, 8]));
        Assert.Equal((5, 3), kept.Longest([1, 2, 3, 4]));     // all but the last prompt token
        Assert.Equal((6, 3), kept.Longest([1, 2, 9, 9, 9]));
        Assert.Equal((-1, 0), kept.Longest([3, 1, 2]));
        Assert.Equal((-1, 0), kept.Longest([1]));             // a one-token prompt must run whole
    }

    [Fact]
    public void Finished_sequences_fill_empty_rows_from_the_top_then_overwrite_the_oldest()
    {
        var kept = new CachedPrefixes();
        Assert.Equal(3, kept.RowToFill(firstFree: 1, rows: 4));
        kept.Hold(3, [1]);
        Assert.Equal(2, kept.RowToFill(1, 4));
        kept.Hold(2, [2]);
        kept.Hold(1, [3]);
        Assert.Equal(3, kept.RowToFill(1, 4));                // no empty row: the oldest
        kept.Hold(3, [4]);                                     // refilled: now the newest
        Assert.Equal(2, kept.RowToFill(1, 4));
        Assert.Null(kept.RowToFill(4, 4));                     // every row in use

        Assert.Null(kept.EmptyRow(1, 4));                     // RowToFill overwrites; EmptyRow never does

        kept.Forget(2);
        Assert.Equal((-1, 0), kept.Longest([2, 0]));
        Assert.Equal(2, kept.RowToFill(1, 4));                // empty again
        kept.Moved(1, 2);
        Assert.Equal((false, true), (kept.Holds(1), kept.Holds(2)));
        Assert.Equal((2, 1), kept.Longest([3, 0]));
        kept.Clear();
        Assert.Equal(0, kept.Count);
    }
}
