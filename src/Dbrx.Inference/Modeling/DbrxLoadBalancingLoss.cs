using TorchSharp;
using static TorchSharp.torch;

namespace Dbrx.Inference.Modeling;

/// <summary>
/// The Switch-style load-balancing loss of the reference (transformers 4.54+, after the double-softmax fix of
/// issue #39055): with router probabilities P of every layer stacked to <c>[L·N, E]</c>,
/// <c>aux = E · Σ_slot,e f[slot, e] · p[e]</c>, where f is the fraction of tokens whose top-k slot picks expert e and
/// p the mean probability of expert e; with an attention mask both means skip padding.
/// </summary>
internal static class DbrxLoadBalancingLoss
{
    /// <summary>Computes the loss in float32.</summary>
    /// <param name="routerProbabilities">Each layer's <c>[B·T, E]</c> probabilities.</param>
    /// <param name="experts">E.</param>
    /// <param name="topK">k.</param>
    /// <param name="attentionMask">Optional <c>[B, T]</c> mask, 1 for real tokens.</param>
    public static Tensor Compute(IReadOnlyList<Tensor> routerProbabilities, int experts, int topK, Tensor? attentionMask = null)
    {
        ArgumentNullException.ThrowIfNull(routerProbabilities);
        if (routerProbabilities.Count == 0)
            throw new ArgumentException("No router probabilities.", nameof(routerProbabilities));
        using var scope = NewDisposeScope();
        // Blocks may live on different devices: gather everything where the last one is.
        Device device = routerProbabilities[^1].device;
        var probabilities = cat(routerProbabilities.Select(p => p.to(ScalarType.Float32, device)).ToArray(), 0);
        var (_, selected) = probabilities.topk(topK, -1);
        var chosen = nn.functional.one_hot(selected, experts).to_type(ScalarType.Float32);   // [L·N, k, E]
        Tensor tokensPerExpert, probabilityPerExpert;
        if (attentionMask is null)
        {
            tokensPerExpert = chosen.mean([0]);
            probabilityPerExpert = probabilities.mean([0]);
        }
        else
        {
            long layers = probabilities.shape[0] / attentionMask.NumberOfElements;
            var rowMask = attentionMask.to(ScalarType.Float32, device).reshape(1, -1).expand(layers, -1).reshape(-1, 1);   // [L·N, 1]
            tokensPerExpert = (chosen * rowMask.unsqueeze(-1)).sum([0]) / rowMask.sum();
            probabilityPerExpert = (probabilities * rowMask).sum([0]) / rowMask.sum();
        }
        using var expertCount = experts.ToScalar();
        var loss = (tokensPerExpert * probabilityPerExpert.unsqueeze(0)).sum().mul(expertCount);
        return scope.MoveToOuter(loss);
    }
}
