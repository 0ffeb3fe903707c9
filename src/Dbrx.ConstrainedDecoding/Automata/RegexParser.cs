using System.Globalization;

namespace Dbrx.ConstrainedDecoding;

/// <summary>
/// Parses the subset of ECMA-262 regular expressions (JSON Schema's <c>pattern</c> dialect, without flags) that
/// constrained decoding enforces exactly:
/// <list type="bullet">
/// <item>characters, <c>.</c> (any character but line terminators), escapes <c>\t \n \r \v \f \0 \xHH \uHHHH \cX</c>
/// and escaped punctuation;</item>
/// <item>classes <c>[a-z]</c>, <c>[^...]</c>, and <c>\d \D \w \W \s \S</c> (ASCII digits and word characters,
/// Unicode white space, as ECMA-262 defines them), also inside classes;</item>
/// <item>groups <c>(...)</c>, <c>(?:...)</c>, <c>(?&lt;name&gt;...)</c>, alternation <c>|</c>;</item>
/// <item>quantifiers <c>* + ? {n} {n,} {n,m}</c>, greedy or lazy (the same for matching), counts up to
/// <see cref="MaxCount"/>;</item>
/// <item>anchors <c>^</c> and <c>$</c>.</item>
/// </list>
/// Not supported (a <see cref="FormatException"/> names the construct): back-references, look-ahead and look-behind,
/// <c>\b</c> and <c>\B</c>, Unicode property escapes, and inline flags. Matching follows JSON Schema: the pattern may
/// match anywhere in the string unless anchored, and counts in code points.
/// </summary>
internal sealed class RegexParser
{
    /// <summary>The largest count a quantifier may carry.</summary>
    public const int MaxCount = 1000;

    private static readonly CodePointSet Digits = CodePointSet.Range('0', '9');
    private static readonly CodePointSet Word = CodePointSet.From([('0', '9'), ('A', 'Z'), ('a', 'z'), ('_', '_')]);
    private static readonly CodePointSet Space = CodePointSet.From([
        (9, 13), (0x20, 0x20), (0xA0, 0xA0), (0x1680, 0x1680), (0x2000, 0x200A), (0x2028, 0x2029), (0x202F, 0x202F),
        (0x205F, 0x205F), (0x3000, 0x3000), (0xFEFF, 0xFEFF)]);
    private static readonly CodePointSet LineTerminators = CodePointSet.From([(10, 10), (13, 13), (0x2028, 0x2029)]);

    /// <summary>What <c>.</c> matches: anything but a line terminator.</summary>
    public static CodePointSet AnyButNewline { get; } = LineTerminators.Complement();

    private readonly int[] text;
    private int position;

    private RegexParser(string pattern) => text = [.. RegexNode.EnumerateCodePoints(pattern)];

    /// <summary>Parses a pattern.</summary>
    /// <exception cref="FormatException">The pattern is invalid or uses syntax outside the supported subset; the message says which.</exception>
    public static RegexNode Parse(string pattern)
    {
        var parser = new RegexParser(pattern);
        RegexNode node = parser.ParseChoice();
        if (parser.position < parser.text.Length)
            throw parser.Error(parser.Peek == ')' ? "unmatched ')'" : $"unexpected '{char.ConvertFromUtf32(parser.Peek)}'");
        return node;
    }

    private bool AtEnd => position >= text.Length;

    private int Peek => text[position];

    private FormatException Error(string message) => new($"{message} at offset {position}");

    private bool TryTake(char c)
    {
        if (!AtEnd && Peek == c)
        {
            position++;
            return true;
        }
        return false;
    }

    private RegexNode ParseChoice()
    {
        var options = new List<RegexNode> { ParseSequence() };
        while (TryTake('|'))
            options.Add(ParseSequence());
        return options.Count == 1 ? options[0] : new RegexNode.Choice(options);
    }

    private RegexNode ParseSequence()
    {
        var parts = new List<RegexNode>();
        while (!AtEnd && Peek != '|' && Peek != ')')
        {
            RegexNode atom = ParseAtom();
            parts.Add(ParseQuantifier(atom));
        }
        return parts.Count == 1 ? parts[0] : new RegexNode.Sequence(parts);
    }

    private RegexNode ParseQuantifier(RegexNode atom)
    {
        if (AtEnd)
            return atom;
        int start = position;
        (int Min, int? Max)? bounds = Peek switch
        {
            '*' => (0, null),
            '+' => (1, null),
            '?' => (0, 1),
            _ => null,
        };
        if (bounds is not null)
            position++;
        else if (Peek == '{')
            bounds = TryParseBraces();
        if (bounds is not { } b)
            return atom;
        if (atom is RegexNode.StartAnchor or RegexNode.EndAnchor)
            throw Error("a quantifier on an anchor");
        TryTake('?'); // lazy: matches the same strings
        if (!AtEnd && Peek is '*' or '+' or '?' || !AtEnd && Peek == '{' && TryParseBracesAhead())
        {
            position = start;
            throw Error("a quantifier that follows a quantifier");
        }
        return new RegexNode.Repeat(atom, b.Min, b.Max);
    }

    private bool TryParseBracesAhead()
    {
        int saved = position;
        bool quantifier = TryParseBraces() is not null;
        position = saved;
        return quantifier;
    }

    /// <summary><c>{n}</c>, <c>{n,}</c> or <c>{n,m}</c>; anything else leaves the position and is a literal brace.</summary>
    private (int, int?)? TryParseBraces()
    {
        int saved = position;
        position++;
        int? min = ParseNumber();
        int? max = min;
        if (min is not null && TryTake(','))
            max = AtEnd || Peek == '}' ? null : ParseNumber() ?? -1;
        if (min is null || max == -1 || !TryTake('}'))
        {
            position = saved;
            return null;
        }
        if (max < min)
            throw Error($"quantifier {{{min},{max}}} with its bounds out of order");
        if (min > MaxCount || max > MaxCount)
            throw Error($"a count over {MaxCount}");
        return (min.Value, max);
    }

    private int? ParseNumber()
    {
        int start = position;
        long value = 0;
        while (!AtEnd && Peek is >= '0' and <= '9')
        {
            value = Math.Min(value * 10 + (Peek - '0'), int.MaxValue);
            position++;
        }
        return position == start ? null : (int)value;
    }

    private RegexNode ParseAtom()
    {
        int c = Peek;
        switch (c)
        {
            case '^':
                position++;
                return new RegexNode.StartAnchor();
            case '$':
                position++;
                return new RegexNode.EndAnchor();
            case '.':
                position++;
                return new RegexNode.Chars(AnyButNewline);
            case '(':
                return ParseGroup();
            case '[':
                return new RegexNode.Chars(ParseClass());
            case '\\':
                return ParseEscapeAtom();
            case '*' or '+' or '?':
                throw Error($"nothing to repeat before '{(char)c}'");
            case '{' when TryParseBracesAhead():
                throw Error("nothing to repeat before '{'");
            default:
                position++;
                return new RegexNode.Chars(CodePointSet.Of(c));
        }
    }

    private RegexNode ParseGroup()
    {
        position++;
        if (TryTake('?'))
        {
            if (TryTake(':'))
            {
            }
            else if (!AtEnd && Peek == '<' && position + 1 < text.Length && text[position + 1] is not '=' and not '!')
            {
                while (!AtEnd && Peek != '>')
                    position++;
                if (!TryTake('>'))
                    throw Error("an unterminated group name");
            }
            else
            {
                throw Error(AtEnd ? "an unterminated group" : Peek switch
                {
                    '=' or '!' => "look-ahead",
                    '<' => "look-behind",
                    _ => "inline flags or an unknown group kind",
                });
            }
        }
        RegexNode body = ParseChoice();
        if (!TryTake(')'))
            throw Error("an unterminated group");
        return body;
    }

    private RegexNode ParseEscapeAtom()
    {
        position++;
        if (AtEnd)
            throw Error("a trailing backslash");
        int c = Peek;
        if (c is 'b' or 'B')
            throw Error($"the word-boundary assertion \\{(char)c}");
        if (c is >= '1' and <= '9')
            throw Error("a back-reference");
        if (c == 'k')
            throw Error("a named back-reference");
        return new RegexNode.Chars(ParseEscapeBody(inClass: false).Set);
    }

    /// <summary>The escape after the backslash: a class escape (value null) or one character (its value).</summary>
    private (int? Value, CodePointSet Set) ParseEscapeBody(bool inClass)
    {
        int c = text[position++];
        CodePointSet? escapeClass = c switch
        {
            'd' => Digits,
            'D' => Digits.Complement(),
            'w' => Word,
            'W' => Word.Complement(),
            's' => Space,
            'S' => Space.Complement(),
            _ => null,
        };
        if (escapeClass is not null)
            return (null, escapeClass);
        int value = c switch
        {
            't' => '\t',
            'n' => '\n',
            'r' => '\r',
            'v' => '\v',
            'f' => '\f',
            'b' when inClass => '\b',
            '0' when AtEnd || Peek is < '0' or > '9' => 0,
            'x' => ParseHex(2),
            'u' => ParseUnicodeEscape(),
            'c' when !AtEnd && (Peek is >= 'a' and <= 'z' or >= 'A' and <= 'Z') => text[position++] % 32,
            'p' or 'P' => throw Error("a Unicode property escape"),
            _ when c < 0x80 && char.IsAsciiLetterOrDigit((char)c) => throw Error($"the escape \\{(char)c}"),
            _ => c,
        };
        return (value, CodePointSet.Of(value));
    }

    private int ParseUnicodeEscape()
    {
        int unit = ParseHex(4);
        // A surrogate pair written as two escapes is one code point.
        if (unit is >= 0xD800 and <= 0xDBFF && position + 6 <= text.Length && text[position] == '\\' && text[position + 1] == 'u')
        {
            int saved = position;
            position += 2;
            int low = ParseHex(4);
            if (low is >= 0xDC00 and <= 0xDFFF)
                return char.ConvertToUtf32((char)unit, (char)low);
            position = saved;
        }
        // A lone surrogate is no character of a valid string: as a set member it matches nothing.
        return unit;
    }

    private int ParseHex(int digits)
    {
        if (position + digits > text.Length)
            throw Error("an incomplete hex escape");
        string hex = string.Concat(text.AsSpan(position, digits).ToArray().Select(d => (char)d));
        if (!int.TryParse(hex, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out int value))
            throw Error($"the invalid hex escape '{hex}'");
        position += digits;
        return value;
    }

    private CodePointSet ParseClass()
    {
        position++;
        bool negated = TryTake('^');
        var set = CodePointSet.Empty;
        while (!AtEnd && Peek != ']')
        {
            var (low, lowSet) = ParseClassAtom();
            if (!AtEnd && Peek == '-' && position + 1 < text.Length && text[position + 1] != ']')
            {
                position++;
                var (high, highSet) = ParseClassAtom();
                if (low is null || high is null)
                {
                    // [\w-.] and the like: a class escape next to '-' makes the '-' literal (ECMA-262 Annex B).
                    set = set.Union(lowSet).Union(CodePointSet.Of('-')).Union(highSet);
                    continue;
                }
                if (high < low)
                    throw Error("a class range out of order");
                set = set.Union(CodePointSet.Range(low.Value, high.Value));
            }
            else
            {
                set = set.Union(lowSet);
            }
        }
        if (!TryTake(']'))
            throw Error("an unterminated character class");
        return negated ? set.Complement() : set;
    }

    /// <summary>One class member: a single character (with its value) or a class escape (value null).</summary>
    private (int? Value, CodePointSet Set) ParseClassAtom()
    {
        if (Peek != '\\')
        {
            int c = text[position++];
            return (c, CodePointSet.Of(c));
        }
        position++;
        if (AtEnd)
            throw Error("a trailing backslash");
        if (Peek == '-')
        {
            position++;
            return ('-', CodePointSet.Of('-'));
        }
        return ParseEscapeBody(inClass: true);
    }
}
