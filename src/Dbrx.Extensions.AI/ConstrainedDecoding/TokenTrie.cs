using System.Runtime.CompilerServices;
using Dbrx.Inference.Tokenization;

namespace Dbrx.Extensions.AI.ConstrainedDecoding;

/// <summary>
/// Every ordinary token of a tokenizer in a byte trie, built once per tokenizer: constrained decoding walks it with
/// a grammar state and prunes a whole subtree as soon as a prefix is rejected, instead of testing 100k tokens one by
/// one. Also precomputed: the tokens made only of plain string characters (no quote, backslash or control byte, whole
/// UTF-8 characters), which inside a JSON string are always allowed, and for each node whether its subtree holds any
/// other token, so that inside strings the walk visits only those.
/// </summary>
internal sealed class TokenTrie
{
    private static readonly ConditionalWeakTable<DbrxTokenizer, TokenTrie> Cache = new();

    private readonly List<int> firstChild = [-1];
    private readonly List<int> nextSibling = [-1];
    private readonly List<byte> label = [0];
    private readonly List<int> token = [-1];
    private bool[] subtreeNeedsVisit = [];

    private TokenTrie(DbrxTokenizer tokenizer)
    {
        VocabularySize = tokenizer.VocabularySize;
        PlainStringTokens = new bool[VocabularySize];
        for (int id = 0; id < VocabularySize; id++)
        {
            ReadOnlySpan<byte> bytes = tokenizer.TokenBytes(id);
            if (bytes.IsEmpty)
                continue;
            Insert(bytes, id);
            PlainStringTokens[id] = IsPlainString(bytes);
        }
        ComputeSubtreeFlags();
    }

    /// <summary>The trie for a tokenizer, built on first use.</summary>
    public static TokenTrie For(DbrxTokenizer tokenizer) => Cache.GetValue(tokenizer, t => new TokenTrie(t));

    /// <summary>Ids the tokenizer knows (the mask length).</summary>
    public int VocabularySize { get; }

    /// <summary>Tokens that inside a plain JSON string leave it a plain string.</summary>
    public bool[] PlainStringTokens { get; }

    /// <summary>The root node.</summary>
    public const int Root = 0;

    /// <summary>The token ending at a node, or −1.</summary>
    public int TokenAt(int node) => token[node];

    /// <summary>Whether a node's subtree holds a token outside <see cref="PlainStringTokens"/>.</summary>
    public bool NeedsVisitInString(int node) => subtreeNeedsVisit[node];

    /// <summary>The children of a node with the byte leading to each.</summary>
    public IEnumerable<(byte Byte, int Node)> Children(int node)
    {
        for (int child = firstChild[node]; child >= 0; child = nextSibling[child])
            yield return (label[child], child);
    }

    private void Insert(ReadOnlySpan<byte> bytes, int id)
    {
        int node = Root;
        foreach (byte b in bytes)
        {
            int child = firstChild[node];
            while (child >= 0 && label[child] != b)
                child = nextSibling[child];
            if (child < 0)
            {
                child = label.Count;
                label.Add(b);
                token.Add(-1);
                firstChild.Add(-1);
                nextSibling.Add(firstChild[node]);
                firstChild[node] = child;
            }
            node = child;
        }
        token[node] = id;
    }

    private void ComputeSubtreeFlags()
    {
        subtreeNeedsVisit = new bool[label.Count];
        // Children always have larger indices than their parent, so one backward pass settles every subtree.
        for (int node = label.Count - 1; node >= 0; node--)
        {
            bool needs = token[node] >= 0 && !PlainStringTokens[token[node]];
            for (int child = firstChild[node]; child >= 0 && !needs; child = nextSibling[child])
                needs = subtreeNeedsVisit[child];
            subtreeNeedsVisit[node] = needs;
        }
    }

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
}
