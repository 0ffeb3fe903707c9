using Dbrx.Inference.Configuration;
using Dbrx.Inference.Runtime;
using static TorchSharp.torch;

namespace Dbrx.Inference.Modeling;

/// <summary>
/// One DBRX block (<c>transformer.blocks.i</c>): <c>h += attn(norm_1(h))</c>, then <c>h += ffn(norm_2(h))</c>.
/// The reference keeps both norms and the attention under <c>norm_attn_norm</c>; the names follow it.
/// </summary>
internal sealed class DbrxBlock : nn.Module
{
    private readonly NormAttnNorm normAttnNorm;
    private readonly DbrxFfn ffn;

    internal DbrxBlock(DbrxConfig config, int layer, ScalarType dtype, Device device, ExpertDispatch dispatch, DbrxQuantization? quantization) : base(nameof(DbrxBlock))
    {
        normAttnNorm = new NormAttnNorm(config, layer, dtype, device, quantization);
        ffn = new DbrxFfn(config, dtype, device, dispatch, quantization);
        register_module("norm_attn_norm", normAttnNorm);
        register_module("ffn", ffn);
    }

    /// <summary>
    /// Runs the block in its own dispose scope, so intermediates are freed block by block; the new hidden state and
    /// the requested extras outlive it.
    /// </summary>
    internal BlockOutput Forward(Tensor hidden, AttentionContext context, bool keepRouterProbabilities)
    {
        using var scope = NewDisposeScope();
        var (attended, weights) = normAttnNorm.Attention.Forward(normAttnNorm.Norm1.forward(hidden), context);
        var residual = hidden.add(attended, RootedScalars.One);
        var (mixed, routerProbabilities) = ffn.Forward(normAttnNorm.Norm2.forward(residual));
        var output = residual.add(mixed, RootedScalars.One);
        return new BlockOutput(
            output.MoveToOuterDisposeScope(),
            weights?.MoveToOuterDisposeScope(),
            // Cast only when asked for (as the reference returns them): decode steps skip the kernel.
            keepRouterProbabilities ? routerProbabilities.to_type(output.dtype).MoveToOuterDisposeScope() : null);
    }

    private sealed class NormAttnNorm : nn.Module
    {
        public NormAttnNorm(DbrxConfig config, int layer, ScalarType dtype, Device device, DbrxQuantization? quantization) : base("DbrxNormAttentionNorm")
        {
            Norm1 = new DbrxLayerNorm(config.DModel, dtype, device);
            Attention = new DbrxAttention(config, layer, dtype, device, quantization);
            Norm2 = new DbrxLayerNorm(config.DModel, dtype, device);
            register_module("norm_1", Norm1);
            register_module("attn", Attention);
            register_module("norm_2", Norm2);
        }

        public DbrxLayerNorm Norm1 { get; }
        public DbrxAttention Attention { get; }
        public DbrxLayerNorm Norm2 { get; }
    }
}

/// <summary>A block's output: the new hidden state, and attention weights and router probabilities when requested.</summary>
internal sealed record BlockOutput(Tensor Hidden, Tensor? AttentionWeights, Tensor? RouterProbabilities);
