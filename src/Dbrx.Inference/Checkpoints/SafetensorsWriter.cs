using System.Text.Json;
using System.Text.Json.Nodes;
using static TorchSharp.torch;

namespace Dbrx.Inference.Checkpoints;

/// <summary>
/// Writes one safetensors file in a single pass: the header first (every tensor's name, dtype and shape is known up
/// front), then each tensor's data in header order, whole or in chunks, so a writer never holds more than one chunk.
/// </summary>
/// <remarks>
/// The layout is Hugging Face's: <c>__metadata__</c> with <c>format: pt</c>, data offsets in order, the header padded
/// with spaces to a multiple of 8 bytes. A file left incomplete is deleted on <see cref="Dispose"/>.
/// </remarks>
public sealed class SafetensorsWriter : IDisposable
{
    private const int ChunkBytes = 1 << 26;

    private readonly FileStream stream;
    private readonly IReadOnlyList<SafetensorsTensorInfo> entries;
    private int current;
    private long writtenInCurrent;
    private bool completed;

    private SafetensorsWriter(string path, FileStream stream, IReadOnlyList<SafetensorsTensorInfo> entries)
    {
        Path = path;
        this.stream = stream;
        this.entries = entries;
    }

    /// <summary>The file being written.</summary>
    public string Path { get; }

    /// <summary>Creates the file and writes its header.</summary>
    /// <param name="path">The file to create (overwritten if it exists).</param>
    /// <param name="tensors">Name, dtype and shape of every tensor, in the order their data will be written.</param>
    /// <param name="metadata">Extra <c>__metadata__</c> entries; <c>format: pt</c> is always written.</param>
    public static SafetensorsWriter Create(string path, IEnumerable<(string Name, SafetensorsDType DType, long[] Shape)> tensors, IReadOnlyDictionary<string, string>? metadata = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentNullException.ThrowIfNull(tensors);
        var entries = new List<SafetensorsTensorInfo>();
        var header = new JsonObject();
        var meta = new JsonObject { ["format"] = "pt" };
        foreach (var (key, value) in metadata ?? new Dictionary<string, string>())
            meta[key] = value;
        header["__metadata__"] = meta;
        long offset = 0;
        foreach (var (name, dtype, shape) in tensors)
        {
            if (header.ContainsKey(name))
                throw new ArgumentException($"Tensor '{name}' is listed twice.", nameof(tensors));
            long bytes = checked(shape.Aggregate(1L, (a, b) => checked(a * b)) * dtype.Size());
            var entry = new SafetensorsTensorInfo(name, dtype, (long[])shape.Clone(), offset, offset + bytes);
            entries.Add(entry);
            header[name] = new JsonObject
            {
                ["dtype"] = dtype.ToString(),
                ["shape"] = new JsonArray(shape.Select(d => (JsonNode)d).ToArray()),
                ["data_offsets"] = new JsonArray(entry.Begin, entry.End),
            };
            offset = entry.End;
        }

        byte[] json = JsonSerializer.SerializeToUtf8Bytes(header);
        int padded = (json.Length + 7) / 8 * 8;
        var stream = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None);
        try
        {
            Span<byte> length = stackalloc byte[8];
            System.Buffers.Binary.BinaryPrimitives.WriteUInt64LittleEndian(length, (ulong)padded);
            stream.Write(length);
            stream.Write(json);
            for (int i = json.Length; i < padded; i++)
                stream.WriteByte((byte)' ');
        }
        catch
        {
            stream.Dispose();
            File.Delete(path);
            throw;
        }
        return new SafetensorsWriter(path, stream, entries);
    }

    /// <summary>The entry whose data is written next, or <see langword="null"/> when all data is written.</summary>
    public SafetensorsTensorInfo? Next
    {
        get
        {
            while (current < entries.Count && writtenInCurrent == entries[current].ByteLength)
            {
                current++;
                writtenInCurrent = 0;
            }
            return current < entries.Count ? entries[current] : null;
        }
    }

    /// <summary>Appends raw bytes of the next tensor (a chunk or all of it); must not run past that tensor's end.</summary>
    public void WriteBytes(ReadOnlySpan<byte> bytes)
    {
        SafetensorsTensorInfo entry = Next ?? throw new InvalidOperationException($"'{Path}': all tensors are already written.");
        if (bytes.Length > entry.ByteLength - writtenInCurrent)
            throw new InvalidOperationException($"'{Path}': {bytes.Length} bytes would run past the end of tensor '{entry.Name}' ({entry.ByteLength - writtenInCurrent} bytes left).");
        stream.Write(bytes);
        writtenInCurrent += bytes.Length;
    }

    /// <summary>Writes the next tensor whole; its dtype and shape must match its header entry.</summary>
    public void WriteTensor(Tensor tensor)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        SafetensorsTensorInfo entry = Next ?? throw new InvalidOperationException($"'{Path}': all tensors are already written.");
        if (writtenInCurrent != 0)
            throw new InvalidOperationException($"'{Path}': tensor '{entry.Name}' is partly written.");
        if (SafetensorsDTypes.FromScalarType(tensor.dtype) != entry.DType || !tensor.shape.SequenceEqual(entry.Shape))
            throw new ArgumentException($"Tensor for '{entry.Name}' is {tensor.dtype} {SafetensorsTensorInfo.FormatShape(tensor.shape)}, the header says {entry.DType} {entry.ShapeText}.", nameof(tensor));
        // Named locals, not a chain: an intermediate that is only the receiver of the next call could be finalized
        // while libtorch reads it (no dispose scope holds it here).
        using var onHost = tensor.cpu();
        using var host = onHost.is_contiguous() ? onHost.alias() : onHost.contiguous();
        using var flat = host.view(-1);
        long elementSize = entry.DType.Size();
        long chunk = ChunkBytes / elementSize;
        for (long start = 0; start < entry.ElementCount; start += chunk)
        {
            using var part = flat.narrow(0, start, Math.Min(chunk, entry.ElementCount - start));
            WriteBytes(part.bytes);
        }
    }

    /// <summary>Checks that every tensor's data was written and closes the file.</summary>
    public void Complete()
    {
        if (Next is { } missing)
            throw new InvalidOperationException($"'{Path}': tensor '{missing.Name}' is not (fully) written.");
        stream.Flush();
        completed = true;
        stream.Dispose();
    }

    /// <summary>Closes the file, deleting it if <see cref="Complete"/> was not reached.</summary>
    public void Dispose()
    {
        stream.Dispose();
        if (!completed)
            File.Delete(Path);
    }
}
