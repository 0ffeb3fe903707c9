using System.Text.Json;
using System.Text.Json.Nodes;
using static TorchSharp.torch;

namespace Dbrx.Inference.Checkpoints;

/// <summary>
/// Writes a Hugging Face checkpoint folder: <c>model.safetensors</c>, or shards named
/// <c>model-00001-of-0000N.safetensors</c> plus <c>model.safetensors.index.json</c> when the tensors exceed the shard
/// size. Tensors are written in the order given, each through the same single-pass writer.
/// </summary>
public sealed class SafetensorsCheckpointWriter : IDisposable
{
    private readonly string directory;
    private readonly List<List<(string Name, SafetensorsDType DType, long[] Shape)>> shards;
    private readonly List<string> shardNames;
    private int shard = -1;
    private SafetensorsWriter? writer;

    /// <summary>Plans the shards; nothing is written until the first tensor.</summary>
    /// <param name="directory">The model folder (created if needed).</param>
    /// <param name="tensors">Name, dtype and shape of every tensor, in writing order.</param>
    /// <param name="maxShardBytes">Largest shard; a tensor larger than this gets a shard of its own.</param>
    public SafetensorsCheckpointWriter(string directory, IReadOnlyList<(string Name, SafetensorsDType DType, long[] Shape)> tensors, long maxShardBytes = long.MaxValue)
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        ArgumentNullException.ThrowIfNull(tensors);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxShardBytes);
        this.directory = directory;
        shards = [[]];
        long size = 0;
        foreach (var tensor in tensors)
        {
            long bytes = tensor.Shape.Aggregate(1L, (a, b) => a * b) * tensor.DType.Size();
            if (shards[^1].Count > 0 && size + bytes > maxShardBytes)
            {
                shards.Add([]);
                size = 0;
            }
            shards[^1].Add(tensor);
            size += bytes;
        }
        shardNames = shards.Count == 1
            ? [SafetensorsCheckpoint.SingleFileName]
            : Enumerable.Range(1, shards.Count).Select(i => $"model-{i:D5}-of-{shards.Count:D5}.safetensors").ToList();
        Directory.CreateDirectory(directory);
    }

    /// <summary>The file names that will be written.</summary>
    public IReadOnlyList<string> FileNames => shardNames;

    /// <summary>The entry whose data is written next, or <see langword="null"/> when all data is written.</summary>
    public SafetensorsTensorInfo? Next => CurrentWriter()?.Next;

    /// <summary>Appends raw bytes of the next tensor (see <see cref="SafetensorsWriter.WriteBytes"/>).</summary>
    public void WriteBytes(ReadOnlySpan<byte> bytes) =>
        (CurrentWriter() ?? throw new InvalidOperationException("All tensors are already written.")).WriteBytes(bytes);

    /// <summary>Writes the next tensor whole (see <see cref="SafetensorsWriter.WriteTensor"/>).</summary>
    public void WriteTensor(Tensor tensor) =>
        (CurrentWriter() ?? throw new InvalidOperationException("All tensors are already written.")).WriteTensor(tensor);

    private SafetensorsWriter? CurrentWriter()
    {
        while (writer is null || writer.Next is null)
        {
            writer?.Complete();
            writer?.Dispose();
            writer = null;
            if (shard + 1 >= shards.Count)
                return null;
            shard++;
            writer = SafetensorsWriter.Create(Path.Combine(directory, shardNames[shard]), shards[shard]);
        }
        return writer;
    }

    /// <summary>Checks that everything was written, closes the last shard and writes the index when sharded.</summary>
    public void Complete()
    {
        if (CurrentWriter() is { Next: { } missing })
            throw new InvalidOperationException($"Tensor '{missing.Name}' is not (fully) written.");
        if (shards.Count == 1)
            return;
        var weightMap = new JsonObject();
        long total = 0;
        for (int i = 0; i < shards.Count; i++)
        {
            foreach (var (name, dtype, shape) in shards[i])
            {
                weightMap[name] = shardNames[i];
                total += shape.Aggregate(1L, (a, b) => a * b) * dtype.Size();
            }
        }
        var index = new JsonObject { ["metadata"] = new JsonObject { ["total_size"] = total }, ["weight_map"] = weightMap };
        File.WriteAllText(Path.Combine(directory, SafetensorsCheckpoint.IndexFileName), index.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
    }

    /// <summary>Closes the open shard (deleting it if incomplete).</summary>
    public void Dispose() => writer?.Dispose();
}
