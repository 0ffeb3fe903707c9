using System.Text.RegularExpressions;

namespace Dbrx.Extensions.AI.Tests;

/// <summary>
/// The streaming filter against a reference that re-reads the whole answer (as the filter once did): what is shown
/// is everything before an envelope, never the envelope, and held text is released as soon as it cannot become one.
/// </summary>
public sealed partial class ToolCallStreamFilterTests
{
    private static readonly string[] Fragments = ["{", "}", "\"tool_calls\"", "\"tool_", "calls\"", " ", "\n", ":", "[", "abc", "\"", "{\"tool_calls\"", "x", "é"];

    [Fact]
    public void Random_answers_in_random_pieces_match_the_reference()
    {
        var random = new Random(7);
        for (int round = 0; round < 2000; round++)
        {
            string answer = string.Concat(Enumerable.Range(0, random.Next(1, 12)).Select(_ => Fragments[random.Next(Fragments.Length)]));
            var filter = new ToolCallStreamFilter(holdEverything: false);
            string shown = "";
            for (int i = 0; i < answer.Length;)
            {
                int length = random.Next(1, 5);
                string piece = answer.Substring(i, Math.Min(length, answer.Length - i));
                i += piece.Length;
                shown += filter.Push(piece);
                // Never more than the reference allows at this point.
                Assert.Equal(Releasable(answer[..i]), shown);
            }
            Assert.Equal(answer, shown + filter.Rest());
            Assert.Equal(answer, filter.Answer);
        }
    }

    [Theory]
    [InlineData("Sure. {\"tool_calls\":[]}", "Sure. ")]
    [InlineData("Sure. { \"tool_calls\" :[]}", "Sure. ")]
    [InlineData("a {\"tool_calls\" x", "a {\"tool_calls\" x")]
    [InlineData("a {\"tool_ca", "a ")]
    [InlineData("{b} {\"tool_calls\"", "{b} ")]
    public void Envelopes_are_held_back(string answer, string shown)
    {
        var filter = new ToolCallStreamFilter(holdEverything: false);
        Assert.Equal(shown, string.Concat(answer.Select(c => filter.Push(c.ToString()))));
    }

    [Fact]
    public void With_a_required_call_everything_is_held()
    {
        var filter = new ToolCallStreamFilter(holdEverything: true);
        Assert.Equal("", filter.Push("plain text"));
        Assert.Equal("plain text", filter.Rest());
    }

    /// <summary>The reference: text up to an envelope, or up to a '{' from which the rest could still become one.</summary>
    private static string Releasable(string text)
    {
        if (Envelope().Match(text) is { Success: true } match)
            return text[..match.Index];
        for (int i = 0; i < text.Length; i++)
        {
            if (text[i] == '{' && Prefix().IsMatch(text[i..]))
                return text[..i];
        }
        return text;
    }

    [GeneratedRegex("""\{\s*"tool_calls"\s*:""")]
    private static partial Regex Envelope();

    /// <summary>Text that is a prefix of some envelope start.</summary>
    [GeneratedRegex("""^\{\s*("(t(o(o(l(_(c(a(l(l(s("\s*)?)?)?)?)?)?)?)?)?)?)?)?\z""")]
    private static partial Regex Prefix();
}
