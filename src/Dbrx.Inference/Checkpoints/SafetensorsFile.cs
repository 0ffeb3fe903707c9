using System.Buffers.Binary;
using System.IO.MemoryMappedFiles;
using System.Text.Json;
using TorchSharp;
using static TorchSharp.torch;

namespace Dbrx.Inference.Checkpoints;

/// <summary>
/// One safetensors file: its header, checked for every way it could lie, and its tensors, read through a memory
/// map one at a time so host memory stays near the size of the tensor being read.
/// </summary>
/// <remarks>
/// Format: an 8-byte little-endian header length N, N bytes of JSON mapping tensor names to
/// <c>{"dtype", "shape", "data_offsets": [begin, end]}</c> (offsets relative to the data that follows the header),
/// an optional <c>__metadata__</c> string map, then the data.
/// </remarks>
public sealed class SafetensorsFile : IDisposable
{
    /// <summary>Largest header accepted, as in the reference implementation (100 MB).</summary>
    public const long MaxHeaderLength = 100_000_000;

    /// <summary>Bytes copied per step when reading a tensor; keeps spans within <see cref="int"/> range.</summary>
    private const long CopyChunkBytes = 1L << 30;

    private readonly Dictionary<string, SafetensorsTensorInfo> tensors;
    private readonly long dataStart;
    private MemoryMappedFile? map;
    private MemoryMappedViewAccessor? view;
    private unsafe byte* data;

    private SafetensorsFile(string path, long fileLength, long dataStart, Dictionary<string, SafetensorsTensorInfo> tensors, Dictionary<string, string> metadata)
    {
        Path = path;
        FileLength = fileLength;
        this.dataStart = dataStart;
        this.tensors = tensors;
        Metadata = metadata;
    }

    /// <summary>The file's path.</summary>
    public string Path { get; }

    /// <summary>The file's length in bytes.</summary>
    public long FileLength { get; }

    /// <summary>The tensors in the file, by name.</summary>
    public IReadOnlyDictionary<string, SafetensorsTensorInfo> Tensors => tensors;

    /// <summary>The header's <c>__metadata__</c> entries (empty when absent).</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; }

    /// <summary>Opens a file and validates its header against the file's length.</summary>
    /// <exception cref="CheckpointException">The file is missing, truncated, or its header is malformed or inconsistent.</exception>
    public static SafetensorsFile Open(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (!File.Exists(path))
            throw new CheckpointException($"Safetensors file '{path}' does not exist.");
        try
        {
            using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read);
            long length = stream.Length;
            if (length < 8)
                throw Corrupt(path, $"it is {length} bytes long, shorter than the 8-byte header length; the file is truncated");
            Span<byte> prefix = stackalloc byte[8];
            stream.ReadExactly(prefix);
            ulong headerLength = BinaryPrimitives.ReadUInt64LittleEndian(prefix);
            if (headerLength > (ulong)(length - 8))
                throw Corrupt(path, $"the header length is {headerLength} bytes but only {length - 8} bytes follow; the file is truncated or not a safetensors file");
            if (headerLength > MaxHeaderLength)
                throw Corrupt(path, $"the header length {headerLength} exceeds the {MaxHeaderLength}-byte limit");
            var header = new byte[headerLength];
            stream.ReadExactly(header);
            long dataStart = 8 + (long)headerLength;
            var (tensors, metadata) = ParseHeader(path, header, length - dataStart);
            return new SafetensorsFile(path, length, dataStart, tensors, metadata);
        }
        catch (IOException e)
        {
            throw new CheckpointException($"Cannot read safetensors file '{path}': {e.Message}", e);
        }
        catch (UnauthorizedAccessException e)
        {
            throw new CheckpointException($"Cannot read safetensors file '{path}': {e.Message}", e);
        }
    }

    private static (Dictionary<string, SafetensorsTensorInfo>, Dictionary<string, string>) ParseHeader(string path, byte[] header, long dataLength)
    {
        // JsonDocument checks names' UTF-8 only when they are read, which would fail later without the file's name.
        if (System.Text.Unicode.Utf8.IsValid(header) is false)
            throw Corrupt(path, $"the header is not valid UTF-8 (first invalid byte at offset {8 + FirstInvalidUtf8(header)})");
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(header.AsMemory().TrimEnd((byte)' '));
        }
        catch (JsonException e)
        {
            throw Corrupt(path, $"the header is not valid JSON ({e.Message})", e);
        }
        using (document)
        {
            if (document.RootElement.ValueKind != JsonValueKind.Object)
                throw Corrupt(path, "the header is not a JSON object");
            var tensors = new Dictionary<string, SafetensorsTensorInfo>(StringComparer.Ordinal);
            var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (JsonProperty property in document.RootElement.EnumerateObject())
            {
                if (property.Name == "__metadata__")
                {
                    ParseMetadata(path, property.Value, metadata);
                    continue;
                }
                if (tensors.ContainsKey(property.Name))
                    throw Corrupt(path, $"tensor '{property.Name}' appears twice in the header");
                tensors.Add(property.Name, ParseEntry(path, property.Name, property.Value, dataLength));
            }
            CheckNoOverlap(path, tensors.Values);
            return (tensors, metadata);
        }
    }

    private static int FirstInvalidUtf8(byte[] bytes)
    {
        int valid = 0;
        while (valid < bytes.Length && System.Text.Rune.DecodeFromUtf8(bytes.AsSpan(valid), out _, out int consumed) == System.Buffers.OperationStatus.Done)
            valid += consumed;
        return valid;
    }

    private static void ParseMetadata(string path, JsonElement value, Dictionary<string, string> metadata)
    {
        if (value.ValueKind != JsonValueKind.Object)
            throw Corrupt(path, "__metadata__ is not an object");
        foreach (JsonProperty entry in value.EnumerateObject())
        {
            if (entry.Value.ValueKind != JsonValueKind.String)
                throw Corrupt(path, $"__metadata__ entry '{entry.Name}' is not a string");
            metadata[entry.Name] = entry.Value.GetString()!;
        }
    }

    private static SafetensorsTensorInfo ParseEntry(string path, string name, JsonElement entry, long dataLength)
    {
        if (entry.ValueKind != JsonValueKind.Object)
            throw Corrupt(path, $"the header entry of tensor '{name}' is not an object");
        if (!entry.TryGetProperty("dtype", out JsonElement dtypeElement) || dtypeElement.ValueKind != JsonValueKind.String)
            throw Corrupt(path, $"tensor '{name}' has no dtype string");
        string dtypeText = dtypeElement.GetString()!;
        if (!Enum.GetNames<SafetensorsDType>().Contains(dtypeText) || !Enum.TryParse(dtypeText, out SafetensorsDType dtype))
            throw Corrupt(path, $"tensor '{name}' has dtype '{dtypeText}', which is not supported (supported: {string.Join(", ", Enum.GetNames<SafetensorsDType>())})");

        long[] shape = ReadLongArray(path, name, entry, "shape");
        long[] offsets = ReadLongArray(path, name, entry, "data_offsets");
        if (offsets.Length != 2)
            throw Corrupt(path, $"tensor '{name}' has {offsets.Length} data_offsets, expected [begin, end]");
        long begin = offsets[0], end = offsets[1];
        if (begin > end)
            throw Corrupt(path, $"tensor '{name}' has data_offsets [{begin}, {end}] that end before they begin");
        if (end > dataLength)
            throw Corrupt(path, $"tensor '{name}' has data_offsets [{begin}, {end}] past the end of the data ({dataLength} bytes); the file is truncated or the header is wrong");

        long elements;
        try
        {
            elements = checked(shape.Aggregate(1L, (a, b) => checked(a * b)) * dtype.Size());
        }
        catch (OverflowException e)
        {
            throw Corrupt(path, $"tensor '{name}' has shape {SafetensorsTensorInfo.FormatShape(shape)} too large to address", e);
        }
        if (elements != end - begin)
            throw Corrupt(path, $"tensor '{name}' ({dtypeText}, shape {SafetensorsTensorInfo.FormatShape(shape)}) needs {elements} bytes but its data_offsets [{begin}, {end}] span {end - begin}");
        return new SafetensorsTensorInfo(name, dtype, shape, begin, end);
    }

    private static long[] ReadLongArray(string path, string name, JsonElement entry, string key)
    {
        if (!entry.TryGetProperty(key, out JsonElement array) || array.ValueKind != JsonValueKind.Array)
            throw Corrupt(path, $"tensor '{name}' has no {key} array");
        var values = new long[array.GetArrayLength()];
        int i = 0;
        foreach (JsonElement item in array.EnumerateArray())
        {
            if (item.ValueKind != JsonValueKind.Number || !item.TryGetInt64(out long value) || value < 0)
                throw Corrupt(path, $"tensor '{name}' has {key} entry {item.GetRawText()}, expected a non-negative integer");
            values[i++] = value;
        }
        return values;
    }

    private static void CheckNoOverlap(string path, IEnumerable<SafetensorsTensorInfo> entries)
    {
        SafetensorsTensorInfo? previous = null;
        foreach (var entry in entries.Where(e => e.ByteLength > 0).OrderBy(e => e.Begin))
        {
            if (previous is not null && entry.Begin < previous.End)
                throw Corrupt(path, $"the data of tensors '{previous.Name}' [{previous.Begin}, {previous.End}] and '{entry.Name}' [{entry.Begin}, {entry.End}] overlap");
            previous = entry;
        }
    }

    private static CheckpointException Corrupt(string path, string problem, Exception? inner = null) =>
        new($"Safetensors file '{path}' is corrupt: {problem}.", inner);

    /// <summary>Reads a tensor into a new CPU tensor in the file's dtype.</summary>
    /// <exception cref="CheckpointException">The file has no tensor of that name.</exception>
    public Tensor Read(string name)
    {
        if (!tensors.TryGetValue(name, out SafetensorsTensorInfo? info))
            throw new CheckpointException($"Safetensors file '{Path}' has no tensor '{name}'.");
        return Read(info);
    }

    /// <summary>Reads a tensor and converts it to <paramref name="dtype"/> on <paramref name="device"/>.</summary>
    public Tensor Read(string name, ScalarType dtype, Device device)
    {
        Tensor host = Read(name);
        if (host.dtype == dtype && host.device_type == device.type && device.type == DeviceType.CPU)
            return host;
        using (host)
            return host.to(dtype, device);
    }

    private unsafe Tensor Read(SafetensorsTensorInfo info)
    {
        Tensor result = empty(info.Shape, dtype: info.DType.ToScalarType(), device: CPU);
        if (info.ByteLength == 0)
            return result;
        byte* source = AcquireData() + info.Begin;
        long elementSize = info.DType.Size();
        long chunkElements = CopyChunkBytes / elementSize;
        using var flat = result.view(-1);
        for (long start = 0; start < info.ElementCount; start += chunkElements)
        {
            long count = Math.Min(chunkElements, info.ElementCount - start);
            using var part = flat.narrow(0, start, count);
            new ReadOnlySpan<byte>(source + start * elementSize, checked((int)(count * elementSize))).CopyTo(part.bytes);
        }
        return result;
    }

    private unsafe byte* AcquireData()
    {
        if (data is null)
        {
            map = MemoryMappedFile.CreateFromFile(Path, FileMode.Open, mapName: null, capacity: 0, MemoryMappedFileAccess.Read);
            view = map.CreateViewAccessor(0, 0, MemoryMappedFileAccess.Read);
            if (view.Capacity < FileLength)
                throw new CheckpointException($"Safetensors file '{Path}' shrank while open ({view.Capacity} of {FileLength} bytes mapped).");
            byte* pointer = null;
            view.SafeMemoryMappedViewHandle.AcquirePointer(ref pointer);
            data = pointer + view.PointerOffset + dataStart;
        }
        return data;
    }

    /// <summary>Unmaps the file.</summary>
    public unsafe void Dispose()
    {
        if (data is not null)
            view!.SafeMemoryMappedViewHandle.ReleasePointer();
        data = null;
        view?.Dispose();
        map?.Dispose();
        view = null;
        map = null;
    }
}
