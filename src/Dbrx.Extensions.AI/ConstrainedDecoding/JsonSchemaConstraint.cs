using Dbrx.Inference.Generation;
using Dbrx.Inference.Tokenization;
using static TorchSharp.torch;

namespace Dbrx.Extensions.AI.ConstrainedDecoding;

/// <summary>
/// Constrains generation to one JSON document that matches a compiled schema, and makes it end within the token
/// budget: a token is allowed only if the document can still be finished in the tokens left (every byte is a token,
/// so the shortest completion's byte count bounds the tokens it needs). Allowed tokens are found by walking the
/// tokenizer's trie with the grammar state, pruning rejected prefixes; inside plain strings the precomputed set of
/// plain-string tokens is used and only the other tokens are walked.
/// </summary>
internal sealed class JsonSchemaConstraint : ITokenConstraint
{
    private readonly TokenTrie trie;
    private readonly DbrxTokenizer tokenizer;
    private List<JsonGrammar.Stack> states;

    public JsonSchemaConstraint(SchemaNode root, DbrxTokenizer tokenizer)
    {
        this.tokenizer = tokenizer;
        trie = TokenTrie.For(tokenizer);
        states = [JsonGrammar.Start(root)];
        MinimumTokens = JsonGrammar.MinToClose(states[0]);
    }

    /// <summary>Tokens (bytes, at worst) the shortest valid document needs.</summary>
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
            if (states.Any(s => JsonGrammar.MinToClose(s) <= budget))
                Array.Copy(trie.PlainStringTokens, allowed, allowed.Length);
            Walk(TokenTrie.Root, states, budget, allowed, onlyNonPlain: true);
        }
        else
        {
            Walk(TokenTrie.Root, states, budget, allowed, onlyNonPlain: false);
        }
        return tensor(allowed);
    }

    private void Walk(int node, List<JsonGrammar.Stack> current, int budget, bool[] allowed, bool onlyNonPlain)
    {
        foreach (var (b, child) in trie.Children(node))
        {
            if (onlyNonPlain && !trie.NeedsVisitInString(child))
                continue;
            var next = new List<JsonGrammar.Stack>();
            foreach (JsonGrammar.Stack state in current)
                JsonGrammar.Step(state, b, next);
            if (next.Count == 0)
                continue;
            int id = trie.TokenAt(child);
            if (id >= 0 && !allowed[id] && next.Any(s => JsonGrammar.MinToClose(s) <= budget))
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
        {
            var next = new List<JsonGrammar.Stack>();
            foreach (JsonGrammar.Stack state in current)
                JsonGrammar.Step(state, b, next);
            current = next;
        }
        if (current.Count == 0 || bytes.IsEmpty)
            throw new InvalidOperationException($"Token {tokenId} does not continue the constrained JSON output.");
        states = current;
    }
}
