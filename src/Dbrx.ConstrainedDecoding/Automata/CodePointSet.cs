namespace Dbrx.ConstrainedDecoding;

/// <summary>
/// An immutable set of Unicode scalar values (code points except the surrogates U+D800–U+DFFF, which no valid JSON
/// string holds on their own), stored as sorted, disjoint, non-adjacent inclusive ranges.
/// </summary>
internal sealed class CodePointSet
{
    public const int MaxCodePoint = 0x10FFFF;

    private readonly (int Lo, int Hi)[] ranges;

    private CodePointSet((int Lo, int Hi)[] ranges) => this.ranges = ranges;

    public static CodePointSet Empty { get; } = new([]);

    /// <summary>Every scalar value.</summary>
    public static CodePointSet All { get; } = new([(0, 0xD7FF), (0xE000, MaxCodePoint)]);

    public IReadOnlyList<(int Lo, int Hi)> Ranges => ranges;

    public bool IsEmpty => ranges.Length == 0;

    public static CodePointSet Of(int codePoint) => Range(codePoint, codePoint);

    /// <summary>The scalar values in [lo, hi] (surrogates left out).</summary>
    public static CodePointSet Range(int lo, int hi) => From([(lo, hi)]);

    /// <summary>Normalizes any list of ranges: sorts, merges, and removes surrogates and out-of-range values.</summary>
    public static CodePointSet From(IEnumerable<(int Lo, int Hi)> input)
    {
        var sorted = input.Where(r => r.Lo <= r.Hi).OrderBy(r => r.Lo).ToList();
        var merged = new List<(int Lo, int Hi)>();
        foreach (var (lo, hi) in sorted)
        {
            if (merged.Count > 0 && lo <= merged[^1].Hi + 1)
                merged[^1] = (merged[^1].Lo, Math.Max(merged[^1].Hi, hi));
            else
                merged.Add((lo, hi));
        }
        return new CodePointSet([.. Intersect(merged, All.ranges)]);
    }

    public bool Contains(int codePoint)
    {
        int lo = 0, hi = ranges.Length - 1;
        while (lo <= hi)
        {
            int mid = (lo + hi) >>> 1;
            if (codePoint < ranges[mid].Lo)
                hi = mid - 1;
            else if (codePoint > ranges[mid].Hi)
                lo = mid + 1;
            else
                return true;
        }
        return false;
    }

    public CodePointSet Union(CodePointSet other) => From(ranges.Concat(other.ranges));

    public CodePointSet Intersect(CodePointSet other) => new([.. Intersect(ranges, other.ranges)]);

    /// <summary>Every scalar value not in this set.</summary>
    public CodePointSet Complement()
    {
        var result = new List<(int, int)>();
        int next = 0;
        foreach (var (lo, hi) in ranges)
        {
            if (lo > next)
                result.Add((next, lo - 1));
            next = hi + 1;
        }
        if (next <= MaxCodePoint)
            result.Add((next, MaxCodePoint));
        return From(result);
    }

    private static IEnumerable<(int Lo, int Hi)> Intersect(IReadOnlyList<(int Lo, int Hi)> a, IReadOnlyList<(int Lo, int Hi)> b)
    {
        int i = 0, j = 0;
        while (i < a.Count && j < b.Count)
        {
            int lo = Math.Max(a[i].Lo, b[j].Lo), hi = Math.Min(a[i].Hi, b[j].Hi);
            if (lo <= hi)
                yield return (lo, hi);
            if (a[i].Hi < b[j].Hi)
                i++;
            else
                j++;
        }
    }

    public override bool Equals(object? obj) => obj is CodePointSet other && ranges.AsSpan().SequenceEqual(other.ranges);

    public override int GetHashCode()
    {
        var hash = new HashCode();
        foreach (var range in ranges)
            hash.Add(range);
        return hash.ToHashCode();
    }
}
