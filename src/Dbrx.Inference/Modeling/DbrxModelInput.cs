using static TorchSharp.torch;

namespace Dbrx.Inference.Modeling;

/// <summary>The inputs of one forward pass, named as the reference's <c>forward</c> arguments.</summary>
internal sealed class DbrxModelInput
{
    /// <summary>Token ids, <c>[B, T]</c>, int64. Exactly one of this and <see cref="InputEmbeddings"/> is required.</summary>
    public Tensor? InputIds { get; init; }

    /// <summary>Input embeddings, <c>[B, T, d_model]</c>, in place of <see cref="InputIds"/>.</summary>
    public Tensor? InputEmbeddings { get; init; }

    /// <summary>
    /// <c>[B, past + T]</c>: 1 for real tokens, 0 for padding (left padding), covering the cached tokens too.
    /// Null means every token is real.
    /// </summary>
    public Tensor? AttentionMask { get; init; }

    /// <summary>
    /// Rotary positions, <c>[B, T]</c>. Null means each row's cache length plus 0..T−1, ignoring padding, as the
    /// reference does; pass <c>cumsum(mask) − 1</c> to number left-padded rows from their first real token.
    /// </summary>
    public Tensor? PositionIds { get; init; }

    /// <summary>The KV cache to read and extend (its first B rows), or null for a pass without one.</summary>
    public DbrxKvCache? Cache { get; init; }

    /// <summary>Labels for the language-model loss, <c>[B, T]</c>; −100 marks positions to ignore.</summary>
    public Tensor? Labels { get; init; }

    /// <summary>Return the hidden states: embeddings, the input of each later block, and the output of norm_f.</summary>
    public bool OutputHiddenStates { get; init; }

    /// <summary>Return each block's attention probabilities (computed with eager attention for this pass).</summary>
    public bool OutputAttentions { get; init; }

    /// <summary>Return router probabilities and the auxiliary loss; null follows the config's <c>output_router_logits</c>.</summary>
    public bool? OutputRouterLogits { get; init; }

    /// <summary>Compute logits for the last N positions only; 0 (the default) keeps all.</summary>
    public int NumLogitsToKeep { get; init; }
}
