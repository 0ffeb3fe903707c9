using System.Globalization;
using System.Text;
using Dbrx.Inference.Configuration;
using Dbrx.Inference.Runtime;
using static TorchSharp.torch;

namespace Dbrx.Inference.Modeling;

/// <summary>
/// Where each part of the model lives: the embedding, every block, and the head (norm_f and lm_head). Hidden states
/// move between devices at block boundaries, as with the reference's <c>device_map</c>.
/// </summary>
/// <param name="Embedding">The device of <c>transformer.wte</c> (inputs go there).</param>
/// <param name="Blocks">The device of each block.</param>
/// <param name="Head">The device of <c>norm_f</c> and <c>lm_head</c> (logits come from there).</param>
public sealed record DbrxPlacement(Device Embedding, IReadOnlyList<Device> Blocks, Device Head)
{
    /// <summary>Everything on one device.</summary>
    public static DbrxPlacement OnDevice(Device device, int layers) => new(device, Enumerable.Repeat(device, layers).ToArray(), device);

    /// <summary>The devices used, in model order.</summary>
    public IReadOnlyList<Device> Devices => new[] { Embedding }.Concat(Blocks).Append(Head).DistinctBy(d => d.ToString()).ToList();

    /// <summary>Whether everything is on one device.</summary>
    public bool IsSingleDevice => Devices.Count == 1;

    /// <summary>The device of a checkpoint tensor: its block's for <c>transformer.blocks.N.*</c>, the embedding's, else the head's.</summary>
    public Device DeviceOf(string tensorName)
    {
        ArgumentNullException.ThrowIfNull(tensorName);
        const string prefix = "transformer.blocks.";
        if (tensorName.StartsWith(prefix, StringComparison.Ordinal)
            && int.TryParse(tensorName.AsSpan(prefix.Length, tensorName.IndexOf('.', prefix.Length) - prefix.Length), out int block)
            && block >= 0 && block < Blocks.Count)
            return Blocks[block];
        return tensorName == DbrxTensorLayout.EmbeddingName ? Embedding : Head;
    }

    /// <summary>
    /// Parses an explicit map: comma-separated <c>part=device</c> entries where a part is <c>embedding</c>,
    /// <c>head</c>, a block index <c>N</c> or a range <c>N-M</c>, for example
    /// <c>embedding=cuda:0,0-19=cuda:0,20-39=cuda:1,head=cuda:1</c>. Every part must be placed once.
    /// </summary>
    /// <exception cref="ArgumentException">The map is malformed, incomplete or names an unknown device.</exception>
    public static DbrxPlacement Parse(string map, int layers)
    {
        ArgumentException.ThrowIfNullOrEmpty(map);
        Device? embedding = null, head = null;
        var blocks = new Device?[layers];
        foreach (string entry in map.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            string[] parts = entry.Split('=', 2, StringSplitOptions.TrimEntries);
            if (parts.Length != 2)
                throw new ArgumentException($"Device map entry '{entry}' is not part=device.", nameof(map));
            Device device = DbrxDevices.ParseDevice(parts[1]);
            switch (parts[0])
            {
                case "embedding":
                    embedding = device;
                    break;
                case "head":
                    head = device;
                    break;
                default:
                    var (first, last) = Range(parts[0], layers, entry);
                    for (int i = first; i <= last; i++)
                    {
                        if (blocks[i] is not null)
                            throw new ArgumentException($"Device map places block {i} twice.", nameof(map));
                        blocks[i] = device;
                    }
                    break;
            }
        }
        int missing = Array.FindIndex(blocks, b => b is null);
        if (embedding is null || head is null || missing >= 0)
            throw new ArgumentException($"Device map '{map}' does not place {(embedding is null ? "the embedding" : head is null ? "the head" : $"block {missing}")}; every part needs a device.", nameof(map));
        return new DbrxPlacement(embedding, blocks!, head);
    }

    private static (int First, int Last) Range(string text, int layers, string entry)
    {
        string[] bounds = text.Split('-', StringSplitOptions.TrimEntries);
        if (bounds.Length is < 1 or > 2
            || !int.TryParse(bounds[0], NumberStyles.None, CultureInfo.InvariantCulture, out int first)
            || !int.TryParse(bounds[^1], NumberStyles.None, CultureInfo.InvariantCulture, out int last)
            || first > last || last >= layers)
            throw new ArgumentException($"Device map entry '{entry}' does not name embedding, head or blocks within 0-{layers - 1}.");
        return (first, last);
    }

    /// <summary>A compact description, for example <c>embedding cuda:0, blocks 0-19 cuda:0, blocks 20-39 cuda:1, head cuda:1</c>.</summary>
    public override string ToString()
    {
        var text = new StringBuilder($"embedding {Embedding}");
        for (int start = 0; start < Blocks.Count;)
        {
            int end = start;
            while (end + 1 < Blocks.Count && Blocks[end + 1].ToString() == Blocks[start].ToString())
                end++;
            text.Append(start == end ? $", block {start} {Blocks[start]}" : $", blocks {start}-{end} {Blocks[start]}");
            start = end + 1;
        }
        return text.Append($", head {Head}").ToString();
    }
}
