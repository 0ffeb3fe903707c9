using Dbrx.Inference.Modeling;
using static TorchSharp.torch;

namespace Dbrx.Inference.Loading;

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
