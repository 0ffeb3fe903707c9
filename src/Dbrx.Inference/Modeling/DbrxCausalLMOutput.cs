using static TorchSharp.torch;

namespace Dbrx.Inference.Modeling;

/// <summary>The outputs of <see cref="DbrxForCausalLM.ForwardDiagnostics(DbrxModelInput)"/>. Disposing it frees every tensor it holds.</summary>
internal sealed class DbrxCausalLMOutput : IDisposable
{
    /// <summary>Logits, <c>[B, T or NumLogitsToKeep, vocab]</c>, in the model dtype (the reference never upcasts them).</summary>
    public required Tensor Logits { get; init; }

    /// <summary>The output of norm_f, <c>[B, T, d_model]</c>.</summary>
    public required Tensor LastHiddenState { get; init; }

    /// <summary>When requested: embeddings, the input of each later block, and the output of norm_f (n_layers + 1 tensors).</summary>
    public IReadOnlyList<Tensor>? HiddenStates { get; init; }

    /// <summary>When requested: each block's attention probabilities, <c>[B, heads, T, keys]</c>.</summary>
    public IReadOnlyList<Tensor>? Attentions { get; init; }

    /// <summary>When requested: each block's router probabilities, <c>[B·T, experts]</c> in the model dtype.</summary>
    public IReadOnlyList<Tensor>? RouterLogits { get; init; }

    /// <summary>With labels: mean next-token cross-entropy, plus <c>moe_loss_weight · AuxLoss</c> when router outputs are on.</summary>
    public Tensor? Loss { get; init; }

    /// <summary>With router outputs on: the load-balancing loss (see <see cref="DbrxLoadBalancingLoss"/>).</summary>
    public Tensor? AuxLoss { get; init; }

    /// <inheritdoc/>
    public void Dispose()
    {
        Logits.Dispose();
        LastHiddenState.Dispose();
        foreach (var t in (HiddenStates ?? []).Concat(Attentions ?? []).Concat(RouterLogits ?? []))
            t.Dispose();
        Loss?.Dispose();
        AuxLoss?.Dispose();
    }
}
