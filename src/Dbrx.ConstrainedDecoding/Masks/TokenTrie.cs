using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using System.Text;
using Dbrx.Inference.Tokenization;

namespace Dbrx.ConstrainedDecoding;

/// <summary>
/// Every ordinary token of a tokenizer in a byte trie, built once per tokenizer and laid out in depth-first order
/// (each node's subtree is the range up to <see cref="SubtreeEnd"/>), so a mask is one forward pass that skips a
/// whole subtree as soon as its prefix is rejected. Also precomputed: the plain string tokens (no quote, backslash or
/// control byte, whole UTF-8 characters), which inside a JSON string without character rules are allowed by their
/// character count alone, as bitsets by count, and which nodes lead to any other token (the only ones a walk inside
/// such a string visits).
/// </summary>
internal sealed class TokenTrie
{
    private static readonly ConditionalWeakTable<DbrxTokenizer, TokenTrie> Cache = new();

    /// <summary>Distinct first-byte sets whose tokens are kept (<see cref="TokensStartingWith"/>); a bound on memory.</summary>
    private const int MaxStartingWithSets = 256;

    /// <summary>The token ids that start with each byte.</summary>
    private readonly int[][] idsByFirstByte;

    private readonly ConcurrentDictionary<ByteSet, ulong[]> startingWith = new();

    private TokenTrie(DbrxTokenizer tokenizer)
    {
        VocabularySize = tokenizer.VocabularySize;
        Words = (VocabularySize + 63) / 64;
        // A pointer trie first, then flattened in depth-first order with children sorted by byte.
        var children = new List<SortedDictionary<byte, int>> { new() };
        var tokenAt = new List<int> { -1 };
        var plainChars = new int[VocabularySize];
        var plainCodePoints = new HashSet<int>();
        int maxPlain = 0;
        for (int id = 0; id < VocabularySize; id++)
        {
            ReadOnlySpan<byte> bytes = tokenizer.TokenBytes(id);
            plainChars[id] = -1;
            if (bytes.IsEmpty)
                continue;
            int node = 0;
            foreach (byte b in bytes)
            {
                if (!children[node].TryGetValue(b, out int next))
                {
                    children[node][b] = next = children.Count;
                    children.Add([]);
                    tokenAt.Add(-1);
                }
                node = next;
            }
            tokenAt[node] = id;
            if (IsPlainString(bytes))
            {
                plainChars[id] = Encoding.UTF8.GetCharCount(bytes) - CountSurrogatePairs(bytes);
                maxPlain = Math.Max(maxPlain, plainChars[id]);
                foreach (var rune in Encoding.UTF8.GetString(bytes).EnumerateRunes())
                    plainCodePoints.Add(rune.Value);
            }
        }

        int count = children.Count;
        Label = new byte[count];
        Token = new int[count];
        Depth = new int[count];
        SubtreeEnd = new int[count];
        var parent = new int[count];
        var order = new Stack<(int Node, int Depth, byte Label)>([(0, 0, (byte)0)]);
        int index = 0;
        // Iterative preorder: a node's subtree ends where the next node at its depth or above begins.
        var path = new Stack<int>();
        while (order.Count > 0)
        {
            var (node, depth, label) = order.Pop();
            while (path.Count > depth)
                SubtreeEnd[path.Pop()] = index;
            parent[index] = path.Count > 0 ? path.Peek() : -1;
            Label[index] = label;
            Token[index] = tokenAt[node];
            Depth[index] = depth;
            path.Push(index);
            foreach (var (b, child) in children[node].Reverse())
                order.Push((child, depth + 1, b));
            index++;
            MaxDepth = Math.Max(MaxDepth, depth);
        }
        while (path.Count > 0)
            SubtreeEnd[path.Pop()] = index;

        PlainByChars = new ulong[maxPlain + 1][];
        for (int chars = 0; chars <= maxPlain; chars++)
            PlainByChars[chars] = new ulong[Words];
        for (int id = 0; id < VocabularySize; id++)
        {
            if (plainChars[id] >= 0)
            {
                for (int chars = plainChars[id]; chars <= maxPlain; chars++)
                    PlainByChars[chars][id >> 6] |= 1UL << (id & 63);
            }
        }
        NeedsVisitInString = new bool[count];
        for (int i = count - 1; i >= 0; i--)
        {
            if (Token[i] >= 0 && plainChars[Token[i]] < 0)
            {
                // Mark the path up to the root: every ancestor leads to a token outside the plain classes.
                for (int a = i; a >= 0 && !NeedsVisitInString[a]; a = parent[a])
                    NeedsVisitInString[a] = true;
            }
        }
        PlainCodePoints = CodePointSet.From(plainCodePoints.Select(c => (c, c)));
        var byFirstByte = new List<int>[256];
        for (int b = 0; b < 256; b++)
            byFirstByte[b] = [];
        for (int id = 0; id < VocabularySize; id++)
        {
            ReadOnlySpan<byte> bytes = tokenizer.TokenBytes(id);
            if (!bytes.IsEmpty)
                byFirstByte[bytes[0]].Add(id);
        }
        idsByFirstByte = [.. byFirstByte.Select(ids => ids.ToArray())];
        for (int b = 0; b < 256; b++)
            ByteToken[b] = -1;
        for (int i = 1; i < count; i++)
        {
            if (Depth[i] == 1)
                ByteToken[Label[i]] = Token[i];
        }
    }

    /// <summary>The trie for a tokenizer, built on first use.</summary>
    public static TokenTrie For(DbrxTokenizer tokenizer) => Cache.GetValue(tokenizer, t => new TokenTrie(t));

    /// <summary>Ids the tokenizer knows.</summary>
    public int VocabularySize { get; }

    /// <summary>64-bit words of a mask over the vocabulary.</summary>
    public int Words { get; }

    /// <summary>Nodes in depth-first order; node 0 is the root.</summary>
    public int NodeCount => Label.Length;

    /// <summary>The byte leading to each node.</summary>
    public byte[] Label { get; }

    /// <summary>The token ending at each node, or −1.</summary>
    public int[] Token { get; }

    /// <summary>Each node's depth (the root's is 0).</summary>
    public int[] Depth { get; }

    /// <summary>The index just after each node's subtree.</summary>
    public int[] SubtreeEnd { get; }

    public int MaxDepth { get; }

    /// <summary>Whether a node's subtree holds a token that is not a plain string token.</summary>
    public bool[] NeedsVisitInString { get; }

    /// <summary>For each character count n: the plain string tokens of at most n characters, as a bitset.</summary>
    public ulong[][] PlainByChars { get; }

    /// <summary>
    /// The tokens whose first byte is in <paramref name="first"/>, as a bitset shared by every caller (never
    /// written to). The few distinct sets (those after which a number or literal may end) are kept: building one
    /// per frame was most of the time of a first mask inside a number.
    /// </summary>
    public ulong[] TokensStartingWith(ByteSet first)
    {
        if (startingWith.TryGetValue(first, out ulong[]? known))
            return known;
        ulong[] tokens = BuildStartingWith(first);
        if (startingWith.Count < MaxStartingWithSets)
            startingWith.TryAdd(first, tokens);
        return tokens;
    }

    private ulong[] BuildStartingWith(ByteSet first)
    {
        var tokens = new ulong[Words];
        for (int b = 0; b < 256; b++)
        {
            if (!first.Contains((byte)b))
                continue;
            foreach (int id in idsByFirstByte[b])
                tokens[id >> 6] |= 1UL << (id & 63);
        }
        return tokens;
    }

    /// <summary>The characters plain string tokens are made of.</summary>
    public CodePointSet PlainCodePoints { get; }

    /// <summary>The token of each single byte, or −1.</summary>
    public int[] ByteToken { get; } = new int[256];

    /// <summary>No quote, backslash or control byte, and whole, valid UTF-8 characters only.</summary>
    private static bool IsPlainString(ReadOnlySpan<byte> bytes)
    {
        foreach (byte b in bytes)
        {
            if (b is (byte)'"' or (byte)'\\' or < 0x20)
                return false;
        }
        return System.Text.Unicode.Utf8.IsValid(bytes);
    }

    private static int CountSurrogatePairs(ReadOnlySpan<byte> bytes)
    {
        int pairs = 0;
        foreach (byte b in bytes)
        {
            if (b >= 0xF0)
                pairs++;
        }
        return pairs;
    }
}
