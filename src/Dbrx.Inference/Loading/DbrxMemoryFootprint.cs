using Dbrx.Inference.Checkpoints;
using Dbrx.Inference.Configuration;
using static TorchSharp.torch;

namespace Dbrx.Inference.Loading;

/// <summary>The sizes a plan is made from: every part's weights and each block's KV cache.</summary>
/// <param name="EmbeddingBytes">The embedding table.</param>
/// <param name="BlockBytes">One block's weights.</param>
/// <param name="CacheBytesPerBlock">One block's KV cache for the planned batch and context.</param>
/// <param name="HeadBytes">norm_f and lm_head.</param>
public sealed record DbrxMemoryFootprint(long EmbeddingBytes, long BlockBytes, long CacheBytesPerBlock, long HeadBytes)
{
    /// <summary>
    /// The footprint of a configuration at a dtype (with int4 weights where <paramref name="quantization"/> says), with a
    /// KV cache of <paramref name="cacheRows"/> × <paramref name="cacheTokens"/> and a prefix cache of
    /// <paramref name="prefixCacheBytes"/> spread over the blocks as the cache is.
    /// </summary>
    public static DbrxMemoryFootprint Of(DbrxConfig config, ScalarType dtype, int cacheRows, int cacheTokens, DbrxQuantization? quantization = null, long prefixCacheBytes = 0)
    {
        int element = SafetensorsDTypes.FromScalarType(dtype).Size();
        var layout = DbrxTensorLayout.For(config);
        long Bytes(Func<string, bool> which) => layout.Where(s => which(s.Name)).Sum(s => TensorBytes(s, element, quantization));
        return new DbrxMemoryFootprint(
            Bytes(n => n == DbrxTensorLayout.EmbeddingName),
            config.NLayers == 0 ? 0 : Bytes(n => n.StartsWith("transformer.blocks.0.", StringComparison.Ordinal)),
            BlockCacheBytes(config, element, cacheRows, cacheTokens) + (config.NLayers == 0 ? 0 : prefixCacheBytes / config.NLayers),
            Bytes(n => n is DbrxTensorLayout.LmHeadName or DbrxTensorLayout.FinalNormName));
    }

    /// <summary>One block's keys and values for <paramref name="rows"/> sequences of <paramref name="tokens"/> tokens.</summary>
    public static long BlockCacheBytes(DbrxConfig config, int elementBytes, long rows, long tokens)
    {
        ArgumentNullException.ThrowIfNull(config);
        // Saturates instead of overflowing, so an absurd batch or context is refused by the memory check.
        double bytes = 2.0 * rows * tokens * config.Attention.KvNHeads * config.HeadDim * elementBytes;
        return bytes >= long.MaxValue ? long.MaxValue : (long)bytes;
    }

    /// <summary>
    /// Bytes one tensor occupies in memory: int4 with its scales and zeros where <paramref name="quantization"/>
    /// quantizes it, otherwise <paramref name="elementBytes"/> per element.
    /// </summary>
    public static long TensorBytes(DbrxTensorSpec tensor, int elementBytes, DbrxQuantization? quantization)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        return quantization is not null && quantization.Quantizes(tensor.Name)
            ? quantization.WeightBytes(tensor.ElementCount, elementBytes)
            : tensor.ElementCount * elementBytes;
    }

    /// <summary>Everything together.</summary>
    public long TotalBytes(int layers) => EmbeddingBytes + layers * (BlockBytes + CacheBytesPerBlock) + HeadBytes;
}
