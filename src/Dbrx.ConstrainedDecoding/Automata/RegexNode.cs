namespace Dbrx.ConstrainedDecoding;

/// <summary>A parsed regular expression (see <see cref="RegexParser"/> for the supported syntax).</summary>
internal abstract record RegexNode
{
    /// <summary>One character out of a set.</summary>
    public sealed record Chars(CodePointSet Set) : RegexNode;

    /// <summary>The parts one after another (none: the empty string).</summary>
    public sealed record Sequence(IReadOnlyList<RegexNode> Parts) : RegexNode;

    /// <summary>Any one of the options.</summary>
    public sealed record Choice(IReadOnlyList<RegexNode> Options) : RegexNode;

    /// <summary>The body <see cref="Min"/> to <see cref="Max"/> times (<see cref="Max"/> null: unbounded).</summary>
    public sealed record Repeat(RegexNode Body, int Min, int? Max) : RegexNode;

    /// <summary><c>^</c>: matches only before the first character of the string.</summary>
    public sealed record StartAnchor : RegexNode;

    /// <summary><c>$</c>: matches only after the last character of the string.</summary>
    public sealed record EndAnchor : RegexNode;

    public static RegexNode Empty { get; } = new Sequence([]);

    /// <summary>A literal string.</summary>
    public static RegexNode Literal(string text) =>
        new Sequence([.. EnumerateCodePoints(text).Select(c => (RegexNode)new Chars(CodePointSet.Of(c)))]);

    public static IEnumerable<int> EnumerateCodePoints(string text)
    {
        for (int i = 0; i < text.Length; i++)
        {
            if (char.IsHighSurrogate(text[i]) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]))
            {
                yield return char.ConvertToUtf32(text[i], text[i + 1]);
                i++;
            }
            else
            {
                yield return text[i];
            }
        }
    }
}
