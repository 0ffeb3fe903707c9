using System.Numerics;

namespace Dbrx.ConstrainedDecoding;

/// <summary>Token masks as bitsets: bit (id % 64) of word (id / 64) is set when token id is allowed.</summary>
internal static class TokenBits
{
    public static bool Get(ReadOnlySpan<ulong> bits, int id) => (bits[id >> 6] & (1UL << (id & 63))) != 0;

    public static void Set(Span<ulong> bits, int id) => bits[id >> 6] |= 1UL << (id & 63);

    /// <summary>Sets the bits of ids 0 to <paramref name="count"/> − 1 and clears the rest.</summary>
    public static void SetAll(Span<ulong> bits, int count)
    {
        bits.Clear();
        int full = Math.Min(count >> 6, bits.Length);
        bits[..full].Fill(ulong.MaxValue);
        if (full < bits.Length && (count & 63) != 0)
            bits[full] = (1UL << (count & 63)) - 1;
    }

    public static int Count(ReadOnlySpan<ulong> bits)
    {
        int count = 0;
        foreach (ulong word in bits)
            count += BitOperations.PopCount(word);
        return count;
    }

    /// <summary>The ids whose bit is <paramref name="set"/>.</summary>
    public static int[] Ids(ReadOnlySpan<ulong> bits, bool set)
    {
        var ids = new List<int>();
        for (int w = 0; w < bits.Length; w++)
        {
            ulong word = set ? bits[w] : ~bits[w];
            while (word != 0)
            {
                ids.Add((w << 6) + BitOperations.TrailingZeroCount(word));
                word &= word - 1;
            }
        }
        return [.. ids];
    }

    public static void Or(Span<ulong> target, ReadOnlySpan<ulong> source)
    {
        int n = Math.Min(target.Length, source.Length);
        for (int i = 0; i < n; i++)
            target[i] |= source[i];
    }
}
