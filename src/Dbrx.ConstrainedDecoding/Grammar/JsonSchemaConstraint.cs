using Dbrx.Inference.Generation;

namespace Dbrx.ConstrainedDecoding;

/// <summary>
/// Constrains one request to a JSON document its compiled grammar accepts, and makes it end within the token
/// budget: a token is allowed only if the document can still be closed in the tokens left after it. The bound is the
/// tokenization of the shortest completion (its byte count first, every byte being at most one token). The tokens of
/// that completion are kept as a plan while the output follows it, and the plan's next token is always allowed, so
/// some token always fits: the output always closes within MaxOutputTokens.
/// </summary>
internal sealed class JsonSchemaConstraint(CompiledGrammar grammar) : ITokenConstraint
{
    private GrammarState state = grammar.Start;
    private int[]? plan;
    private int planPosition;

    /// <summary>Tokens the shortest valid document needs.</summary>
    public int MinimumTokens => grammar.CloseTokens(grammar.Start).Length;

    /// <inheritdoc/>
    public bool IsComplete => state.IsComplete;

    /// <inheritdoc/>
    public void FillAllowedTokens(Span<ulong> allowed, int remainingTokens) =>
        grammar.FillMask(state, allowed, remainingTokens - 1, PlanToken);

    /// <summary>The next token of a completion that fits the budget.</summary>
    private int PlanToken()
    {
        if (plan is null || planPosition >= plan.Length)
        {
            plan = grammar.CloseTokens(state);
            planPosition = 0;
        }
        return plan[planPosition];
    }

    /// <inheritdoc/>
    public void Accept(int tokenId)
    {
        ReadOnlySpan<byte> bytes = grammar.Tokenizer.TokenBytes(tokenId);
        GrammarState next = bytes.IsEmpty ? GrammarState.Dead : grammar.Step(state, bytes);
        if (next.IsDead)
            throw new InvalidOperationException($"Token {tokenId} does not continue the constrained JSON output.");
        if (plan is not null && planPosition < plan.Length && plan[planPosition] == tokenId)
            planPosition++;
        else
            plan = null;
        state = next;
    }
}
