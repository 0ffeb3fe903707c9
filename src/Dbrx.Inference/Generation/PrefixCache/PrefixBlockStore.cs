using Dbrx.Inference.Checkpoints;
using Dbrx.Inference.Configuration;
using Dbrx.Inference.Loading;
using Dbrx.Inference.Modeling;
using static TorchSharp.torch;

namespace Dbrx.Inference.Generation.PrefixCache;

/// <summary>
/// The prefix cache's keys and values: for each slot of a tier, every block's keys and values of one prefix block
/// (<c>[kv_heads, block_tokens, head_dim]</c> per layer), on that layer's device (the device tier) or in host memory,
/// pinned when the model is on CUDA (the host tier). A slot's tensors are allocated the first time it is used and
/// reused after, so memory grows only as far as the slots in use. Applies what <see cref="PrefixBlockIndex"/> decides.
/// </summary>
internal sealed class PrefixBlockStore : IDisposable
{
    private readonly int layers;
    private readonly long[] shape;
    private readonly ScalarType dtype;
    private readonly IReadOnlyList<Device> layerDevices;
    private readonly bool pinHost;
    private readonly Dictionary<int, Tensor[]> deviceSlots = [];
    private readonly Dictionary<int, Tensor[]> hostSlots = [];

    public PrefixBlockStore(DbrxConfig config, ScalarType dtype, IReadOnlyList<Device> layerDevices, int blockTokens)
    {
        layers = config.NLayers;
        shape = [config.Attention.KvNHeads, blockTokens, config.HeadDim];
        this.dtype = dtype;
        this.layerDevices = layerDevices;
        pinHost = layerDevices.Any(d => d.type == TorchSharp.DeviceType.CUDA);
        BlockTokens = blockTokens;
    }

    /// <summary>Tokens per block.</summary>
    public int BlockTokens { get; }

    /// <summary>Bytes one block of a model's keys and values takes: every layer's keys and values for its tokens.</summary>
    public static long BlockBytes(DbrxConfig config, ScalarType dtype, int blockTokens) =>
        config.NLayers * DbrxMemoryFootprint.BlockCacheBytes(config, SafetensorsDTypes.FromScalarType(dtype).Size(), rows: 1, blockTokens);

    /// <summary>Applies the index's operations for a sequence whose keys and values are in <paramref name="row"/> of <paramref name="cache"/>.</summary>
    public void Apply(IReadOnlyList<PrefixBlockOperation> operations, DbrxKvCache cache, int row)
    {
        using var mode = inference_mode();
        foreach (PrefixBlockOperation operation in operations)
        {
            switch (operation)
            {
                case PrefixBlockOperation.Save save:
                    Tensor[] target = Slot(deviceSlots, save.DeviceSlot, host: false);
                    for (int layer = 0; layer < layers; layer++)
                    {
                        var (keys, values) = cache.Positions(layer, row, save.FirstToken, BlockTokens);
                        using (keys)
                        using (values)
                        {
                            target[2 * layer].copy_(keys);
                            target[(2 * layer) + 1].copy_(values);
                        }
                    }
                    break;
                case PrefixBlockOperation.Demote demote:
                    Tensor[] from = deviceSlots[demote.DeviceSlot];
                    Tensor[] to = Slot(hostSlots, demote.HostSlot, host: true);
                    for (int i = 0; i < from.Length; i++)
                        to[i].copy_(from[i]);
                    break;
                default:
                    throw new ArgumentException($"Unknown prefix block operation {operation}.", nameof(operations));
            }
        }
    }

    /// <summary>Copies <paramref name="blocks"/>, a prefix in order, into the first positions of <paramref name="row"/>; the caller commits the row's length.</summary>
    public void Load(IReadOnlyList<PrefixBlockLocation> blocks, DbrxKvCache cache, int row)
    {
        using var mode = inference_mode();
        for (int i = 0; i < blocks.Count; i++)
        {
            Tensor[] source = (blocks[i].Tier == DbrxKvCacheMedium.Device ? deviceSlots : hostSlots)[blocks[i].Slot];
            for (int layer = 0; layer < layers; layer++)
            {
                var (keys, values) = cache.Positions(layer, row, (long)i * BlockTokens, BlockTokens);
                using (keys)
                using (values)
                {
                    keys.copy_(source[2 * layer]);
                    values.copy_(source[(2 * layer) + 1]);
                }
            }
        }
    }

    /// <summary>Frees every slot's tensors.</summary>
    public void Dispose()
    {
        foreach (Tensor tensor in deviceSlots.Values.Concat(hostSlots.Values).SelectMany(t => t))
            tensor.Dispose();
        deviceSlots.Clear();
        hostSlots.Clear();
    }

    /// <summary>A slot's tensors, allocated on first use (outside any dispose scope: they live as long as the store).</summary>
    private Tensor[] Slot(Dictionary<int, Tensor[]> slots, int slot, bool host)
    {
        if (slots.TryGetValue(slot, out Tensor[]? tensors))
            return tensors;
        tensors = new Tensor[2 * layers];
        for (int layer = 0; layer < layers; layer++)
        {
            for (int kind = 0; kind < 2; kind++)
            {
                Tensor tensor = empty(shape, dtype, host ? CPU : layerDevices[layer]);
                if (host && pinHost)
                {
                    Tensor pinned = tensor.pin_memory();
                    tensor.Dispose();
                    tensor = pinned;
                }
                tensors[(2 * layer) + kind] = tensor.DetachFromDisposeScope();
            }
        }
        slots[slot] = tensors;
        return tensors;
    }
}
