using Dbrx.Inference.Generation;
using Dbrx.Inference.Tokenization;
using static TorchSharp.torch;

namespace Dbrx.Extensions.AI.ConstrainedDecoding;

/// <summary>
/// Constrains generation to one JSON document that matches a compiled schema, and makes it end within the token
/// budget: a token is allowed only if the document can still be finished in the tokens left. The tokens a finish
/// needs are bounded by the shortest completion's tokenization (and by its byte count, every byte being a token),
/// so a finish is always possible; should that bound ever not shrink as planned, the next byte of the shortest
/// completion is allowed, which always makes progress. Allowed tokens are found by walking the tokenizer's trie with
/// the grammar state, pruning rejected prefixes; inside plain strings the precomputed set of plain-string tokens is
/// used and only the other tokens are walked.
/// </summary>
internal sealed class JsonSchemaConstraint : ITokenConstraint
{
    private readonly TokenTrie trie;
    private readonly DbrxTokenizer tokenizer;
    private readonly Dictionary<string, int> tokenCounts = new(StringComparer.Ordinal);
    private List<JsonGrammar.Stack> states;

    public JsonSchemaConstraint(SchemaNode root, DbrxTokenizer tokenizer)
    {
        this.tokenizer = tokenizer;
        trie = TokenTrie.For(tokenizer);
        states = [JsonGrammar.Start(root)];
        MinimumTokens = TokensToClose(states[0]);
    }

    /// <summary>Tokens the shortest valid document needs (its tokenization's length, at most its byte count).</summary>
    public int MinimumTokens { get; }

    /// <inheritdoc/>
    public bool IsComplete => states.Any(JsonGrammar.IsComplete);

    /// <inheritdoc/>
    public Tensor AllowedTokens(int remainingTokens)
    {
        var allowed = new bool[trie.VocabularySize];
        int budget = remainingTokens - 1;
        if (states.All(JsonGrammar.IsPlainStringContent))
        {
            // Ordinary string characters keep every state where it is, so they cost nothing against the budget.
            if (states.Any(s => Fits(s, budget)))
                Array.Copy(trie.PlainStringTokens, allowed, allowed.Length);
            Walk(TokenTrie.Root, states, budget, allowed, onlyNonPlain: true);
        }
        else
        {
            Walk(TokenTrie.Root, states, budget, allowed, onlyNonPlain: false);
        }
        if (Array.IndexOf(allowed, true) < 0)
            AllowNextCompletionByte(allowed);
        return tensor(allowed);
    }

    /// <summary>The fallback that always progresses: the single-byte token of the shortest completion's next byte.</summary>
    private void AllowNextCompletionByte(bool[] allowed)
    {
        var completion = new List<byte>();
        if (!states.Any(s => JsonGrammar.AppendShortestCompletion(s, completion) && completion.Count > 0))
            return;
        int id = trie.Children(TokenTrie.Root).Where(c => c.Byte == completion[0]).Select(c => trie.TokenAt(c.Node)).FirstOrDefault(-1);
        if (id >= 0)
            allowed[id] = true;
    }

    /// <summary>Whether the document can be finished from a state within <paramref name="budget"/> tokens.</summary>
    private bool Fits(JsonGrammar.Stack state, int budget)
    {
        var completion = new List<byte>();
        if (!JsonGrammar.AppendShortestCompletion(state, completion))
            return false;
        // Every byte is a token, so the byte count is a bound too, and checking it first spares most tokenizations.
        return completion.Count <= budget || TokensToClose(completion) <= budget;
    }

    /// <summary>An upper bound of the tokens needed to finish from a state: the shortest completion, tokenized.</summary>
    private int TokensToClose(JsonGrammar.Stack state)
    {
        var completion = new List<byte>();
        return JsonGrammar.AppendShortestCompletion(state, completion) ? TokensToClose(completion) : SchemaNode.Unknown;
    }

    private int TokensToClose(List<byte> completion)
    {
        if (completion.Count <= 1)
            return completion.Count;
        string text;
        try
        {
            text = Strict.GetString(completion.ToArray());
        }
        catch (System.Text.DecoderFallbackException)
        {
            // The completion starts inside a multi-byte character: count bytes, each a token.
            return completion.Count;
        }
        if (!tokenCounts.TryGetValue(text, out int count))
            tokenCounts[text] = count = Math.Min(completion.Count, tokenizer.Encode(text).Length);
        return count;
    }

    private static readonly System.Text.UTF8Encoding Strict = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    private void Walk(int node, List<JsonGrammar.Stack> current, int budget, bool[] allowed, bool onlyNonPlain)
    {
        foreach (var (b, child) in trie.Children(node))
        {
            if (onlyNonPlain && !trie.NeedsVisitInString(child))
                continue;
            var next = JsonGrammar.Step(current, b);
            if (next.Count == 0)
                continue;
            int id = trie.TokenAt(child);
            if (id >= 0 && !allowed[id] && next.Any(s => Fits(s, budget)))
                allowed[id] = true;
            // A finished document accepts no more bytes, so there is nothing to find deeper.
            if (!next.All(JsonGrammar.IsDone))
                Walk(child, next, budget, allowed, onlyNonPlain);
        }
    }

    /// <inheritdoc/>
    public void Accept(int tokenId)
    {
        ReadOnlySpan<byte> bytes = tokenizer.TokenBytes(tokenId);
        var current = states;
        foreach (byte b in bytes)
            current = JsonGrammar.Step(current, b);
        if (current.Count == 0 || bytes.IsEmpty)
            throw new InvalidOperationException($"Token {tokenId} does not continue the constrained JSON output.");
        states = current;
    }
}
