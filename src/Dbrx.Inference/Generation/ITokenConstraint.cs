namespace Dbrx.Inference.Generation;

/// <summary>
/// Restricts which tokens may come next (constrained decoding), for example to guarantee JSON that matches a schema.
/// One instance serves one request; the generator calls it from its worker thread, once per generated token.
/// </summary>
public interface ITokenConstraint
{
    /// <summary>
    /// Writes the tokens allowed next into <paramref name="allowed"/> as a bitset: token <c>id</c> is allowed when bit
    /// <c>id % 64</c> of word <c>id / 64</c> is set. Every word is written (ids the constraint does not know stay
    /// clear). At most <paramref name="remainingTokens"/> tokens, this one included, may still be generated, so a
    /// constraint can make sure its output is complete within the budget.
    /// </summary>
    /// <param name="allowed">One bit per token id of the model's vocabulary, rounded up to whole words.</param>
    /// <param name="remainingTokens">Tokens that may still be generated, this one included.</param>
    void FillAllowedTokens(Span<ulong> allowed, int remainingTokens);

    /// <summary>Records the token that was chosen.</summary>
    void Accept(int tokenId);

    /// <summary>True once the constrained output is complete; generation then ends.</summary>
    bool IsComplete { get; }
}
