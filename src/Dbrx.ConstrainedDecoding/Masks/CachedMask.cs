namespace Dbrx.ConstrainedDecoding;

/// <summary>
/// A state's token mask as computed without a budget, with the largest number of bytes any allowed token leaves to
/// close the document: when the budget covers that, the mask needs no further check. Stored as the id list when
/// short, the complement's when nearly everything is allowed, else as a bitset.
/// </summary>
internal sealed class CachedMask
{
    private readonly ulong[]? bits;
    private readonly int[]? ids;
    private readonly bool complement;

    private readonly int vocabularySize, vocabularyWords;

    public CachedMask(ulong[] mask, int maxCloseBytesAfter, int vocabularySize)
    {
        MaxCloseBytesAfter = maxCloseBytesAfter;
        this.vocabularySize = vocabularySize;
        vocabularyWords = (vocabularySize + 63) / 64;
        int allowed = TokenBits.Count(mask);
        int size = mask.Length * 64;
        // 64 ids cost as much as a word: use the smallest form.
        if (allowed * 2 < mask.Length)
            ids = TokenBits.Ids(mask, set: true);
        else if ((size - allowed) * 2 < mask.Length)
        {
            ids = TokenBits.Ids(mask, set: false);
            complement = true;
        }
        else
            bits = (ulong[])mask.Clone();
    }

    public int MaxCloseBytesAfter { get; }

    /// <summary>Bytes held.</summary>
    public int Size => bits is not null ? bits.Length * 8 : ids!.Length * 4;

    /// <summary>Sets the mask's tokens in <paramref name="target"/>, leaving the others as they are.</summary>
    public void OrInto(Span<ulong> target)
    {
        if (bits is not null)
        {
            TokenBits.Or(target, bits);
        }
        else if (complement)
        {
            // Every id but the listed ones (sorted), word by word.
            int next = 0;
            for (int w = 0; w < Math.Min(target.Length, vocabularyWords); w++)
                target[w] |= ~ExcludedIn(w, ref next) & WordMask(w);
        }
        else
        {
            foreach (int id in ids!)
                target[id >> 6] |= 1UL << (id & 63);
        }
    }

    /// <summary>Sets the mask's tokens that are also in <paramref name="filter"/> in <paramref name="target"/>.</summary>
    public void OrInto(Span<ulong> target, ReadOnlySpan<ulong> filter)
    {
        int words = Math.Min(target.Length, Math.Min(filter.Length, vocabularyWords));
        if (bits is not null)
        {
            for (int w = 0; w < words; w++)
                target[w] |= bits[w] & filter[w];
        }
        else if (complement)
        {
            int next = 0;
            for (int w = 0; w < words; w++)
                target[w] |= ~ExcludedIn(w, ref next) & WordMask(w) & filter[w];
        }
        else
        {
            foreach (int id in ids!)
            {
                if (TokenBits.Get(filter, id))
                    target[id >> 6] |= 1UL << (id & 63);
            }
        }
    }

    /// <summary>The listed ids in word <paramref name="w"/>, reading the sorted list on from <paramref name="next"/>.</summary>
    private ulong ExcludedIn(int w, ref int next)
    {
        ulong word = 0;
        for (; next < ids!.Length && ids[next] >> 6 == w; next++)
            word |= 1UL << (ids[next] & 63);
        return word;
    }

    /// <summary>The bits of word <paramref name="w"/> that are ids below the vocabulary size.</summary>
    private ulong WordMask(int w) => (w + 1) * 64 <= vocabularySize ? ulong.MaxValue : (1UL << (vocabularySize - w * 64)) - 1;

    /// <summary>Writes the mask into <paramref name="target"/> (every word of it).</summary>
    public void CopyTo(Span<ulong> target, int vocabularySize)
    {
        if (bits is not null)
        {
            target.Clear();
            bits.AsSpan(0, Math.Min(bits.Length, target.Length)).CopyTo(target);
            return;
        }
        if (complement)
        {
            TokenBits.SetAll(target, Math.Min(vocabularySize, target.Length * 64));
            foreach (int id in ids!)
                target[id >> 6] &= ~(1UL << (id & 63));
        }
        else
        {
            target.Clear();
            foreach (int id in ids!)
                target[id >> 6] |= 1UL << (id & 63);
        }
    }
}
