using Dbrx.Inference.Checkpoints;
using Dbrx.Inference.Configuration;
using Dbrx.Inference.Quantization;
using static TorchSharp.torch;

namespace Dbrx.Inference.Modeling;

/// <summary>Free memory on one accelerator, for planning.</summary>
/// <param name="Device">The device.</param>
/// <param name="FreeBytes">Bytes free for the model, its KV cache and activations.</param>
public sealed record DeviceMemory(Device Device, long FreeBytes);

/// <summary>The sizes a plan is made from: every part's weights and each block's KV cache.</summary>
/// <param name="EmbeddingBytes">The embedding table.</param>
/// <param name="BlockBytes">One block's weights.</param>
/// <param name="CacheBytesPerBlock">One block's KV cache for the planned batch and context.</param>
/// <param name="HeadBytes">norm_f and lm_head.</param>
public sealed record DbrxMemoryFootprint(long EmbeddingBytes, long BlockBytes, long CacheBytesPerBlock, long HeadBytes)
{
    /// <summary>
    /// The footprint of a configuration at a dtype (with int4 weights where <paramref name="quantization"/> says), with a
    /// KV cache of <paramref name="cacheRows"/> × <paramref name="cacheTokens"/>.
    /// </summary>
    public static DbrxMemoryFootprint Of(DbrxConfig config, ScalarType dtype, int cacheRows, int cacheTokens, DbrxQuantization? quantization = null)
    {
        int element = SafetensorsDTypes.FromScalarType(dtype).Size();
        var layout = DbrxTensorLayout.For(config);
        long TensorBytes(DbrxTensorSpec s) =>
            quantization is not null && quantization.Quantizes(s.Name) ? quantization.WeightBytes(s.ElementCount, element) : s.ElementCount * element;
        long Bytes(Func<string, bool> which) => layout.Where(s => which(s.Name)).Sum(TensorBytes);
        long cache = 2L * cacheRows * cacheTokens * config.Attention.KvNHeads * config.HeadDim * element;
        return new DbrxMemoryFootprint(
            Bytes(n => n.StartsWith("transformer.wte", StringComparison.Ordinal)),
            config.NLayers == 0 ? 0 : Bytes(n => n.StartsWith("transformer.blocks.0.", StringComparison.Ordinal)),
            cache,
            Bytes(n => n is "lm_head.weight" or "transformer.norm_f.weight"));
    }

    /// <summary>Everything together.</summary>
    public long TotalBytes(int layers) => EmbeddingBytes + layers * (BlockBytes + CacheBytesPerBlock) + HeadBytes;
}

/// <summary>
/// Spreads a model over accelerators by their free memory, then the CPU, as the reference's
/// <c>device_map="auto"</c> does: parts are taken in model order (embedding, blocks, head) and each goes to the first
/// device, from where the previous part went, that still has room for it (weights plus, for a block, its KV cache),
/// keeping a reserve on each accelerator for activations.
/// </summary>
public static class DbrxPlacementPlanner
{
    /// <summary>The share of each accelerator's free memory kept for activations and the allocator.</summary>
    public const double ReserveFraction = 0.10;

    /// <summary>Plans a placement; parts that fit no accelerator go to the CPU.</summary>
    public static DbrxPlacement Plan(int layers, DbrxMemoryFootprint footprint, IReadOnlyList<DeviceMemory> accelerators)
    {
        ArgumentNullException.ThrowIfNull(footprint);
        ArgumentNullException.ThrowIfNull(accelerators);
        var room = accelerators.Select(a => (long)(a.FreeBytes * (1 - ReserveFraction))).ToArray();
        int current = 0;
        Device Place(long bytes)
        {
            while (current < accelerators.Count && room[current] < bytes)
                current++;
            if (current == accelerators.Count)
                return CPU;
            room[current] -= bytes;
            return accelerators[current].Device;
        }
        Device embedding = Place(footprint.EmbeddingBytes);
        var blocks = Enumerable.Range(0, layers).Select(_ => Place(footprint.BlockBytes + footprint.CacheBytesPerBlock)).ToArray();
        Device head = Place(footprint.HeadBytes);
        return new DbrxPlacement(embedding, blocks, head);
    }
}
