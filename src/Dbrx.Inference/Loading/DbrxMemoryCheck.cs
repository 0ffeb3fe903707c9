using Dbrx.Inference.Modeling;
using TorchSharp;

namespace Dbrx.Inference.Loading;

/// <summary>
/// Refuses, before any weight is read, a placement whose parts cannot fit their devices, with the numbers: what each
/// device would hold and what it has free.
/// </summary>
internal static class DbrxMemoryCheck
{
    /// <summary>Bytes each device of the placement would hold: weights, plus each block's KV cache.</summary>
    public static IReadOnlyDictionary<string, long> Demand(DbrxPlacement placement, DbrxMemoryFootprint footprint)
    {
        var demand = new Dictionary<string, long>();
        // Saturating: an absurd batch or context must be refused with the numbers, not overflow into a small demand.
        void Add(TorchSharp.torch.Device device, long bytes) => demand[device.ToString()] = SaturatingAdd(demand.GetValueOrDefault(device.ToString()), bytes);
        Add(placement.Embedding, footprint.EmbeddingBytes);
        foreach (var device in placement.Blocks)
            Add(device, SaturatingAdd(footprint.BlockBytes, footprint.CacheBytesPerBlock));
        Add(placement.Head, footprint.HeadBytes);
        return demand;
    }

    /// <summary>Throws when a device's demand exceeds its free memory.</summary>
    /// <param name="placement">Where the parts go.</param>
    /// <param name="footprint">The parts' sizes.</param>
    /// <param name="free">Free bytes by device name; devices missing here are not checked.</param>
    /// <exception cref="InvalidOperationException">A device cannot hold its parts; the message has the numbers.</exception>
    public static void Check(DbrxPlacement placement, DbrxMemoryFootprint footprint, IReadOnlyDictionary<string, long> free)
    {
        foreach (var (device, bytes) in Demand(placement, footprint))
        {
            if (free.TryGetValue(device, out long available) && bytes > available)
                throw new InvalidOperationException(
                    $"The model does not fit: {device} would hold {Gib(bytes)} (weights and KV cache as placed: {placement}) but has {Gib(available)} free. "
                    + "Use device \"auto\" to spread it over GPUs and the CPU, int4 weights (DType int4), a shorter context or a smaller batch.");
        }
    }

    /// <summary>Free memory of the devices this machine can report: the CPU, and CUDA devices through nvidia-smi.</summary>
    public static IReadOnlyDictionary<string, long> FreeMemory(DbrxPlacement placement)
    {
        var free = new Dictionary<string, long> { ["cpu"] = HostMemory.Available() };
        if (placement.Devices.Any(d => d.type == DeviceType.CUDA))
        {
            try
            {
                foreach (var gpu in AcceleratorMemory.Query())
                    free[gpu.Device.ToString()] = gpu.FreeBytes;
            }
            catch (InvalidOperationException)
            {
                // Without nvidia-smi the GPUs are not checked up front; an allocation failure will say so instead.
            }
        }
        return free;
    }

    private static long SaturatingAdd(long a, long b) => a > long.MaxValue - b ? long.MaxValue : a + b;

    private static string Gib(long bytes) => $"{bytes / (double)(1L << 30):F1} GiB";
}
