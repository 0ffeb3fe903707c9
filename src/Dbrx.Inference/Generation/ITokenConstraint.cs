using static TorchSharp.torch;

namespace Dbrx.Inference.Generation;

/// <summary>
/// Restricts which tokens may come next (constrained decoding), for example to guarantee JSON that matches a schema.
/// One instance serves one request; the generator calls it from its worker thread, once per generated token.
/// </summary>
public interface ITokenConstraint
{
    /// <summary>
    /// The tokens allowed next, as a bool tensor on the CPU (ids past its length are not allowed). At most
    /// <paramref name="remainingTokens"/> tokens, this one included, may still be generated, so a constraint can make
    /// sure its output is complete within the budget. The caller disposes the tensor.
    /// </summary>
    Tensor AllowedTokens(int remainingTokens);

    /// <summary>Records the token that was chosen.</summary>
    void Accept(int tokenId);

    /// <summary>True once the constrained output is complete; generation then ends.</summary>
    bool IsComplete { get; }
}
