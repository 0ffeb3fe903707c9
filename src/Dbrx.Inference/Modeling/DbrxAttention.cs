using Dbrx.Inference.Configuration;
using Dbrx.Inference.Runtime;
using TorchSharp;
using static TorchSharp.torch;

namespace Dbrx.Inference.Modeling;

/// <summary>
/// DBRX attention (<c>norm_attn_norm.attn</c>): fused QKV projection, optional clamp, rotary embedding on queries and
/// keys, grouped-query attention over the KV cache, output projection.
/// </summary>
internal sealed class DbrxAttention : nn.Module
{
    private readonly nn.Module<Tensor, Tensor> wqkv;
    private readonly nn.Module<Tensor, Tensor> outProj;
    private readonly int heads, kvHeads, headDim, layer;
    private readonly double? clip;

    internal DbrxAttention(DbrxConfig config, int layer, ScalarType dtype, Device device, DbrxQuantization? quantization) : base(nameof(DbrxAttention))
    {
        heads = config.NHeads;
        kvHeads = config.Attention.KvNHeads;
        headDim = config.HeadDim;
        clip = config.Attention.ClipQkv;
        this.layer = layer;
        bool int4 = quantization is { Attention: true };
        wqkv = DbrxLinear.Create(config.DModel, config.DModel + 2L * kvHeads * headDim, dtype, device, int4 ? quantization : null);
        outProj = DbrxLinear.Create(config.DModel, config.DModel, dtype, device, int4 ? quantization : null);
        register_module("Wqkv", wqkv);
        register_module("out_proj", outProj);
    }

    /// <summary>Attends over <c>x</c> (<c>[B, T, d_model]</c>); returns the output and, when asked for, the attention weights.</summary>
    internal (Tensor Output, Tensor? Weights) Forward(Tensor x, AttentionContext context)
    {
        long batch = x.shape[0], tokens = x.shape[1], width = x.shape[2];
        long kvWidth = (long)kvHeads * headDim;

        var qkv = wqkv.forward(x);
        if (clip is { } bound)
        {
            using var low = (-bound).ToScalar();
            using var high = bound.ToScalar();
            qkv = qkv.clamp(low, high);
        }
        // Queries and keys sit side by side in the fused projection, so one rotation covers both: half the kernel
        // launches of rotating them apart, which is what a batch-1 decode step pays for.
        var parts = qkv.split([width + kvWidth, kvWidth], -1);
        var qk = RotaryEmbedding.Apply(parts[0].view(batch, tokens, heads + kvHeads, headDim), context.Cos, context.Sin);
        var q = qk.narrow(2, 0, heads).transpose(1, 2);
        var k = qk.narrow(2, heads, kvHeads).transpose(1, 2);
        var v = parts[1].view(batch, tokens, kvHeads, headDim).transpose(1, 2);
        if (context.Cache is { } cache)
            (k, v) = cache.Write(layer, k, v, context.CachePositions, context.AlignedStart, context.KeyLength);

        bool eager = context.Implementation == AttentionImplementation.Eager || context.OutputAttentions;
        var (attended, weights) = eager ? Eager(q, k, v, context) : Fused(q, k, v, context);
        var merged = attended.transpose(1, 2).reshape(batch, tokens, width);
        return (outProj.forward(merged), weights);
    }

    /// <summary>
    /// The reference's eager attention, without repeating keys and values: each key/value head's query heads are
    /// folded into one matrix, <c>[B, kv_heads, groups·T, head_dim]</c>, which gives the same dot products.
    /// </summary>
    private (Tensor, Tensor?) Eager(Tensor q, Tensor k, Tensor v, AttentionContext context)
    {
        long batch = q.shape[0], tokens = q.shape[2], keys = k.shape[2];
        long groups = heads / kvHeads;
        var folded = q.reshape(batch, kvHeads, groups * tokens, headDim);
        using var scale = Math.Sqrt(headDim).ToScalar();
        var scores = folded.matmul(k.transpose(2, 3)).div(scale).view(batch, heads, tokens, keys);
        // The model always builds a mask for eager attention over more than one token.
        if (context.Mask is { } mask)
            scores = scores.add(mask, RootedScalars.One);
        var probabilities = scores.softmax(-1, ScalarType.Float32).to_type(q.dtype);
        var output = probabilities.view(batch, kvHeads, groups * tokens, keys).matmul(v).view(batch, heads, tokens, headDim);
        return (output, context.OutputAttentions ? probabilities : null);
    }

    /// <summary>
    /// libtorch's fused attention with grouped-query support: keys and values are read once per key/value head, never
    /// repeated. A causal pass without a mask is the form CUDA serves with the flash kernel.
    /// </summary>
    private static (Tensor, Tensor?) Fused(Tensor q, Tensor k, Tensor v, AttentionContext context) =>
        (AtenOps.ScaledDotProductAttentionGqa(q, k, v, context.Mask, context.IsCausal), null);
}
