using System.Numerics;
using System.Text.Json;

namespace Dbrx.ConstrainedDecoding;

// Strings and numbers: the character automaton of a string (patterns, format, exclusions, lengths), the automaton of
// a number (bounds, multipleOf), and whether an enum or const value meets those keywords.
internal sealed partial class JsonSchemaCompiler
{
    /// <summary>Whether an enum or const value meets the schema's string and number keywords.</summary>
    private bool Satisfies(JsonElement value, SchemaInfo info)
    {
        switch (value.ValueKind)
        {
            case JsonValueKind.String:
                string text = value.GetString()!;
                int length = CountCodePoints(text);
                return length >= info.MinLength && length <= (info.MaxLength ?? int.MaxValue) && (StringDfa(info, foldLengths: false) is not { } dfa || Matches(dfa, text));
            case JsonValueKind.Number:
                return BuildNumber(info) is not { } number || Matches(number.Dfa, value.GetRawText());
            default:
                return true;
        }
    }

    private static int CountCodePoints(string text) => RegexNode.EnumerateCodePoints(text).Count();

    private StringNode? BuildString(SchemaInfo info)
    {
        if (info.MaxLength < info.MinLength)
            return null;
        CharDfa? dfa = StringDfa(info, foldLengths: false);
        if (dfa is { Start: < 0 })
            return null;
        string where = info.Patterns.Count > 0 ? info.Patterns[0].Path : info.Path;
        var node = Within(info.MaxLength is not null ? "maxLength" : "minLength", where, () => shared.StringNode(dfa, info.MinLength, info.MaxLength, budget));
        return node.Lengths is { } lengths && !lengths.Viable(dfa!.Start, 0) ? null : node;
    }

    /// <summary>
    /// The automaton of a string's patterns, format and exclusions (and, when <paramref name="foldLengths"/>, its
    /// length bounds); null when nothing but lengths constrains it.
    /// </summary>
    private CharDfa? StringDfa(SchemaInfo info, bool foldLengths)
    {
        var parts = new List<CharDfa>();
        foreach (var (pattern, path, negated) in info.Patterns)
            parts.Add(negated ? Within("not", path, () => CharDfa.Complement(Pattern(pattern, path), budget)) : Pattern(pattern, path));
        foreach (var (format, path) in info.Formats)
            parts.Add(Pattern(StringFormats.Pattern(format)!, path, "format"));
        string keyword = info.Patterns.Count > 0 ? "pattern" : info.Formats.Count > 0 ? "format" : "maxLength";
        string where = info.Patterns.Count > 0 ? info.Patterns[0].Path : info.Formats.Count > 0 ? info.Formats[0].Path : info.Path;
        var excluded = info.ExcludedValues.Where(v => v.ValueKind == JsonValueKind.String).Select(v => v.GetString()!).ToList();
        if (excluded.Count > 0)
            parts.Add(Within("not", info.Path, () => CharDfa.Complement(CharDfa.Strings(excluded, budget), budget)));
        if (parts.Count == 0)
            return null;
        try
        {
            return Within(keyword, where, () =>
            {
                if (foldLengths && (info.MinLength > 0 || info.MaxLength is not null))
                    parts.Add(CharDfa.Lengths(info.MinLength, info.MaxLength, budget));
                return CharDfa.Intersect(parts, budget);
            });
        }
        catch (FormatException e)
        {
            throw new JsonSchemaException(keyword, where, $"the string's patterns, format and length together cannot be enforced: {e.Message}", e);
        }
    }

    private NumberNode? BuildNumber(SchemaInfo info)
    {
        DecimalNumber? multiple = null;
        foreach (var (value, path) in info.MultipleOf)
        {
            if (multiple is null || multiple.CompareTo(value) == 0)
            {
                multiple = value;
            }
            else if (multiple.Fraction.Length == 0 && value.Fraction.Length == 0)
            {
                BigInteger a = multiple.ScaledMagnitude, b = value.ScaledMagnitude;
                multiple = DecimalNumber.Parse((a / BigInteger.GreatestCommonDivisor(a, b) * b).ToString(System.Globalization.CultureInfo.InvariantCulture));
            }
            else
            {
                throw new JsonSchemaException("multipleOf", path, "several fractional multipleOf values together are not enforced");
            }
        }
        var spec = new NumberSpec((info.Types & JsonTypes.NonInteger) == 0, info.Minimum, info.MinimumExclusive, info.Maximum, info.MaximumExclusive, multiple);
        CharDfa dfa;
        try
        {
            string where = info.MultipleOf.Count > 0 ? info.MultipleOf[0].Path : info.Path;
            dfa = Within(info.MultipleOf.Count > 0 ? "multipleOf" : "type", where, () => shared.Number(spec, budget));
        }
        catch (FormatException e)
        {
            throw new JsonSchemaException("multipleOf", info.MultipleOf.Count > 0 ? info.MultipleOf[0].Path : info.Path, $"cannot be enforced: {e.Message}", e);
        }
        return dfa.Start < 0 ? null : dfa.NumberNode;
    }
}
