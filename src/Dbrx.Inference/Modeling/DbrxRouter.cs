using Dbrx.Inference.Configuration;
using static TorchSharp.torch;

namespace Dbrx.Inference.Modeling;

/// <summary>The token routing decision of one block: probabilities of every expert and the chosen ones with their weights.</summary>
/// <param name="Probabilities"><c>[N, experts]</c>, the float32 softmax (the reference returns it cast to the model dtype as "router_logits").</param>
/// <param name="TopWeights"><c>[N, top_k]</c> weights of the chosen experts, renormalised, in the model dtype.</param>
/// <param name="TopExperts"><c>[N, top_k]</c> chosen expert ids, most probable first.</param>
internal sealed record RouterOutput(Tensor Probabilities, Tensor TopWeights, Tensor TopExperts);

/// <summary>
/// DBRX's router (<c>ffn.router</c>): a linear layer to one logit per expert, float32 softmax, top-k, and
/// renormalisation of the chosen weights by their p-norm (<c>moe_normalize_expert_weights</c>; p = 1 divides by their sum).
/// </summary>
internal sealed class DbrxRouter : nn.Module
{
    private readonly DbrxLinear layer;
    private readonly int topK;
    private readonly double? normalizeP;

    internal DbrxRouter(DbrxConfig config, ScalarType dtype, Device device) : base(nameof(DbrxRouter))
    {
        topK = config.Ffn.MoeTopK;
        normalizeP = config.Ffn.MoeNormalizeExpertWeights;
        layer = new DbrxLinear(config.DModel, config.Ffn.MoeNumExperts, dtype, device);
        register_module("layer", layer);
    }

    /// <summary>Routes the rows of <c>x</c> (<c>[N, d_model]</c>).</summary>
    internal RouterOutput Forward(Tensor x)
    {
        // Jitter (moe_jitter_eps) is a training-time augmentation; this engine only infers, so it never applies.
        var logits = layer.forward(x);
        var probabilities = logits.softmax(-1, ScalarType.Float32);
        var (topWeights, topExperts) = probabilities.topk(topK, -1);
        if (normalizeP is { } p)
            topWeights = topWeights / topWeights.norm(-1, keepdim: true, p: (float)p);
        return new RouterOutput(probabilities, topWeights.to_type(x.dtype), topExperts);
    }
}
