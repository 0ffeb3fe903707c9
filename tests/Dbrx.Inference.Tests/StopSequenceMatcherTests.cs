using Dbrx.Inference.Generation;

namespace Dbrx.Inference.Tests;

public sealed class StopSequenceMatcherTests
{
    [Fact]
    public void A_stop_split_across_pieces_is_caught_and_never_emitted()
    {
        var matcher = new StopSequenceMatcher(["</answer>"]);
        string emitted = string.Concat("The result is 42</".Select(c => matcher.Push(c.ToString())))
            + matcher.Push("ans") + matcher.Push("wer> trailing");
        Assert.True(matcher.Stopped);
        Assert.Equal("The result is 42", emitted);
        Assert.Equal("", matcher.Flush());
    }

    [Fact]
    public void Text_that_could_start_a_stop_is_held_back_until_it_cannot()
    {
        var matcher = new StopSequenceMatcher(["STOP"]);
        Assert.Equal("abc ", matcher.Push("abc ST"));
        Assert.Equal("STx", matcher.Push("x"));
        Assert.Equal("", matcher.Push("S"));
        Assert.Equal("S", matcher.Flush());
        Assert.False(matcher.Stopped);
    }

    [Fact]
    public void The_earliest_of_several_stops_wins()
    {
        var matcher = new StopSequenceMatcher(["\n\n", "User:"]);
        Assert.Equal("hi", matcher.Push("hiUser: x\n\n"));
        Assert.True(matcher.Stopped);
    }

    [Fact]
    public void Without_stops_text_passes_straight_through()
    {
        var matcher = new StopSequenceMatcher([]);
        Assert.Equal("anything", matcher.Push("anything"));
    }
}
