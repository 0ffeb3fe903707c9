namespace Dbrx.ConstrainedDecoding;

/// <summary>A set of byte values (256 bits); equal sets are equal values (a dictionary key).</summary>
internal record struct ByteSet
{
    private ulong w0, w1, w2, w3;

    public static ByteSet All => new() { w0 = ulong.MaxValue, w1 = ulong.MaxValue, w2 = ulong.MaxValue, w3 = ulong.MaxValue };

    public static ByteSet Of(params ReadOnlySpan<char> bytes)
    {
        var set = new ByteSet();
        foreach (char b in bytes)
            set.Add((byte)b);
        return set;
    }

    public readonly bool Contains(byte b) => ((b >> 6) switch { 0 => w0, 1 => w1, 2 => w2, _ => w3 } & (1UL << (b & 63))) != 0;

    public void Add(byte b)
    {
        ulong bit = 1UL << (b & 63);
        switch (b >> 6)
        {
            case 0: w0 |= bit; break;
            case 1: w1 |= bit; break;
            case 2: w2 |= bit; break;
            default: w3 |= bit; break;
        }
    }

    public void AddRange(int lo, int hi)
    {
        for (int b = Math.Max(lo, 0); b <= Math.Min(hi, 255); b++)
            Add((byte)b);
    }

    public void UnionWith(ByteSet other)
    {
        w0 |= other.w0;
        w1 |= other.w1;
        w2 |= other.w2;
        w3 |= other.w3;
    }
}
