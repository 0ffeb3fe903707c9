namespace Dbrx.ConstrainedDecoding;

/// <summary>Structural equality for int arrays used as dictionary keys (tuples of states, sets of ids).</summary>
internal sealed class IntArrayComparer : IEqualityComparer<int[]>
{
    public static readonly IntArrayComparer Instance = new();

    public bool Equals(int[]? x, int[]? y) => x.AsSpan().SequenceEqual(y);

    public int GetHashCode(int[] key)
    {
        var hash = new HashCode();
        foreach (int k in key)
            hash.Add(k);
        return hash.ToHashCode();
    }
}
