using System.Text;
using System.Text.RegularExpressions;

namespace Dbrx.Inference.Tokenization;

/// <summary>
/// tiktoken's encoder: the text is split by the pre-tokenizer pattern, and each piece's UTF-8 bytes are merged
/// pairwise, always the adjacent pair whose concatenation has the lowest rank (the leftmost among equals), until no
/// pair is a token. The same result as tiktoken's <c>_byte_pair_merge</c>, but the lowest pair is taken from a heap
/// instead of a scan, so a piece of n bytes costs O(n log n) rather than O(n²): a megabyte of one letter or of spaces
/// (one piece) encodes in a fraction of a second. Cancellation is checked between pieces and during long merges.
/// </summary>
/// <remarks>Thread-safe: every call has its own state; the vocabulary is read-only.</remarks>
internal sealed class BytePairEncoder
{
    private const int CancellationCheckInterval = 4096;

    // Pieces up to this many bytes (nearly all of them in text) are merged by tiktoken's own scan over stack memory:
    // O(n²) but allocation-free, which beats the heap's bookkeeping at this size.
    private const int ShortPiece = 64;

    private readonly Regex pattern;
    // Token bytes as Latin-1 strings (one char per byte), so slices of a piece are looked up without allocating.
    private readonly Dictionary<string, int> ranks;
    private readonly Dictionary<string, int>.AlternateLookup<ReadOnlySpan<char>> rankOf;
    // Short pieces that are not one token, merged once: words repeat, merges do not need to.
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, int[]> merged = new();
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, int[]>.AlternateLookup<ReadOnlySpan<char>> mergedOf;
    private const int MergedCapacity = 65_536;

    public BytePairEncoder(byte[]?[] tokenBytes, string pattern)
    {
        this.pattern = new Regex(pattern, RegexOptions.Compiled);
        ranks = new Dictionary<string, int>(tokenBytes.Length);
        for (int id = 0; id < tokenBytes.Length; id++)
        {
            if (tokenBytes[id] is { } bytes)
                ranks.TryAdd(Encoding.Latin1.GetString(bytes), id);
        }
        rankOf = ranks.GetAlternateLookup<ReadOnlySpan<char>>();
        mergedOf = merged.GetAlternateLookup<ReadOnlySpan<char>>();
        LongestTokenBytes = ranks.Keys.Max(key => key.Length);
    }

    /// <summary>The longest token in bytes: no token covers more of the text, which bounds the tokens a text needs from below.</summary>
    public int LongestTokenBytes { get; }

    /// <summary>Appends the tokens of <paramref name="text"/> (ordinary tokens only) to <paramref name="ids"/>.</summary>
    /// <exception cref="OperationCanceledException">The token was cancelled.</exception>
    public void Encode(ReadOnlySpan<char> text, List<int> ids, CancellationToken cancellationToken)
    {
        char[] buffer = [];
        int pieces = 0;
        foreach (ValueMatch match in pattern.EnumerateMatches(text))
        {
            if (++pieces % 256 == 0)
                cancellationToken.ThrowIfCancellationRequested();
            ReadOnlySpan<char> piece = text.Slice(match.Index, match.Length);
            int byteCount = Encoding.UTF8.GetByteCount(piece);
            if (buffer.Length < byteCount)
                buffer = new char[Math.Max(byteCount, 2 * buffer.Length)];
            ToLatin1(piece, buffer.AsSpan(0, byteCount));
            if (rankOf.TryGetValue(buffer.AsSpan(0, byteCount), out int whole))
                ids.Add(whole);
            else if (byteCount <= ShortPiece)
                ids.AddRange(MergeShort(buffer.AsSpan(0, byteCount)));
            else
                Merge(buffer, byteCount, ids, cancellationToken);
        }
        cancellationToken.ThrowIfCancellationRequested();
    }

    /// <summary>The piece's UTF-8 bytes, one char each.</summary>
    private static void ToLatin1(ReadOnlySpan<char> piece, Span<char> destination)
    {
        Span<byte> utf8 = destination.Length <= 1024 ? stackalloc byte[destination.Length] : new byte[destination.Length];
        Encoding.UTF8.GetBytes(piece, utf8);
        for (int i = 0; i < utf8.Length; i++)
            destination[i] = (char)utf8[i];
    }

    /// <summary>A short piece's tokens, from the cache of merged pieces or merged now (and remembered, within a bound).</summary>
    private int[] MergeShort(ReadOnlySpan<char> bytes)
    {
        if (mergedOf.TryGetValue(bytes, out int[]? known))
            return known;
        var ids = new List<int>(bytes.Length);
        MergeByScan(bytes, ids);
        if (merged.Count >= MergedCapacity)
            merged.Clear();
        int[] tokens = [.. ids];
        mergedOf.TryAdd(bytes, tokens);
        return tokens;
    }

    /// <summary>
    /// Merges a short piece as tiktoken's <c>_byte_pair_merge</c> does: scan for the lowest-ranked adjacent pair (the
    /// leftmost among equals), merge it, update the two ranks beside it, repeat. Same result as <see cref="Merge"/>.
    /// </summary>
    private void MergeByScan(ReadOnlySpan<char> bytes, List<int> ids)
    {
        int parts = bytes.Length;
        Span<int> starts = stackalloc int[parts + 1];
        Span<int> ranks = stackalloc int[parts];
        for (int i = 0; i <= parts; i++)
            starts[i] = i;
        int RankOfPair(Span<int> starts, int parts, ReadOnlySpan<char> bytes, int i) =>
            i + 1 < parts && rankOf.TryGetValue(bytes[starts[i]..starts[i + 2]], out int rank) ? rank : int.MaxValue;
        for (int i = 0; i < parts; i++)
            ranks[i] = RankOfPair(starts, parts, bytes, i);
        while (true)
        {
            int best = 0;
            for (int i = 1; i < parts - 1; i++)
            {
                if (ranks[i] < ranks[best])
                    best = i;
            }
            if (parts < 2 || ranks[best] == int.MaxValue)
                break;
            // Part best absorbs part best + 1: its boundary and its rank go.
            starts[(best + 2)..(parts + 1)].CopyTo(starts[(best + 1)..]);
            ranks[(best + 2)..parts].CopyTo(ranks[(best + 1)..]);
            parts--;
            ranks[best] = RankOfPair(starts, parts, bytes, best);
            if (best > 0)
                ranks[best - 1] = RankOfPair(starts, parts, bytes, best - 1);
        }
        for (int i = 0; i < parts; i++)
            ids.Add(rankOf.TryGetValue(bytes[starts[i]..starts[i + 1]], out int id) ? id : throw MissingByte(bytes[starts[i]]));
    }

    private static InvalidOperationException MissingByte(char value) =>
        new($"The vocabulary has no token for the byte 0x{(int)value:x2}; a byte-level BPE vocabulary must have all 256.");

    /// <summary>
    /// Merges a long piece (the first <paramref name="n"/> of <paramref name="bytes"/>) with the lowest pair taken from a
    /// heap, O(n log n), and appends the resulting tokens.
    /// </summary>
    private void Merge(char[] bytes, int n, List<int> ids, CancellationToken cancellationToken)
    {
        // Parts form a linked list over the piece: a part starts at i and ends where next[i] starts.
        var next = new int[n];
        var previous = new int[n];
        var alive = new bool[n];
        for (int i = 0; i < n; i++)
        {
            next[i] = i + 1;
            previous[i] = i - 1;
            alive[i] = true;
        }
        // Candidate merges by (rank, start): the lowest rank first, the leftmost among equals, as tiktoken's scan.
        var candidates = new PriorityQueue<(int Start, int End), (int Rank, int Start)>();
        void Offer(int start)
        {
            if (start < 0 || next[start] >= n)
                return;
            int end = next[next[start]];
            if (rankOf.TryGetValue(bytes.AsSpan(start, end - start), out int rank))
                candidates.Enqueue((start, end), (rank, start));
        }
        for (int i = 0; i + 1 < n; i++)
            Offer(i);

        int merges = 0;
        while (candidates.TryDequeue(out var pair, out _))
        {
            // Stale unless the pair still spans exactly two live parts.
            if (!alive[pair.Start] || next[pair.Start] >= n || next[next[pair.Start]] != pair.End)
                continue;
            if (++merges % CancellationCheckInterval == 0)
                cancellationToken.ThrowIfCancellationRequested();
            int right = next[pair.Start];
            alive[right] = false;
            next[pair.Start] = pair.End;
            if (pair.End < n)
                previous[pair.End] = pair.Start;
            Offer(previous[pair.Start]);
            Offer(pair.Start);
        }

        for (int start = 0; start < n; start = next[start])
            ids.Add(rankOf.TryGetValue(bytes.AsSpan(start, next[start] - start), out int id) ? id : throw MissingByte(bytes[start]));
    }
}
