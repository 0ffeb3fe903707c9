using System.Buffers;
using System.Buffers.Binary;
using Dbrx.Inference.Generation;
using MessagePack;

namespace Dbrx.KvEvents;

/// <summary>
/// llm-d's (and vLLM's) KV-event wire format, both directions, in one place. A message is three ZeroMQ frames: the topic
/// (<c>kv@&lt;host&gt;:&lt;port&gt;@&lt;model&gt;</c>), an 8-byte big-endian sequence number, and a MessagePack payload
/// <c>[timestamp, [event, ...], dp_rank]</c> where each event is an array tagged by its first element:
/// <c>["BlockStored", block_hashes, parent_block_hash, token_ids, block_size, lora_id, medium, lora_name]</c>,
/// <c>["BlockRemoved", block_hashes, medium]</c> or <c>["AllBlocksCleared"]</c>; mediums are <c>GPU</c> and <c>CPU</c>.
/// </summary>
public static class DbrxKvEventWire
{
    /// <summary>The medium of <see cref="DbrxKvCacheMedium.Device"/> blocks on the wire.</summary>
    public const string DeviceMedium = "GPU";

    /// <summary>The medium of <see cref="DbrxKvCacheMedium.Host"/> blocks on the wire.</summary>
    public const string HostMedium = "CPU";

    /// <summary>The topic a replica's messages carry: <c>kv@&lt;host:port&gt;@&lt;model&gt;</c>, the address its API is reached at and the model it serves.</summary>
    /// <param name="hostAndPort">The replica's API address, for example <c>10.0.0.7:8000</c>.</param>
    /// <param name="model">The served model's name.</param>
    public static string Topic(string hostAndPort, string model)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(hostAndPort);
        ArgumentException.ThrowIfNullOrWhiteSpace(model);
        return $"kv@{hostAndPort}@{model}";
    }

    /// <summary>The sequence-number frame: 8 bytes, big-endian.</summary>
    public static byte[] EncodeSequence(long sequence)
    {
        var bytes = new byte[8];
        BinaryPrimitives.WriteInt64BigEndian(bytes, sequence);
        return bytes;
    }

    /// <summary>The sequence number in a frame written by <see cref="EncodeSequence"/>.</summary>
    /// <exception cref="FormatException">The frame is not 8 bytes.</exception>
    public static long DecodeSequence(ReadOnlySpan<byte> frame) => frame.Length == 8
        ? BinaryPrimitives.ReadInt64BigEndian(frame)
        : throw new FormatException($"A KV-event sequence frame has 8 bytes, not {frame.Length}.");

    /// <summary>The MessagePack payload of <paramref name="batch"/>.</summary>
    public static byte[] Encode(DbrxKvEventBatch batch)
    {
        ArgumentNullException.ThrowIfNull(batch);
        var buffer = new ArrayBufferWriter<byte>();
        var writer = new MessagePackWriter(buffer);
        writer.WriteArrayHeader(3);
        writer.Write((batch.Timestamp - DateTimeOffset.UnixEpoch).TotalSeconds);
        writer.WriteArrayHeader(batch.Events.Count);
        foreach (DbrxKvCacheEvent e in batch.Events)
            WriteEvent(ref writer, e);
        writer.Write(batch.DataParallelRank);
        writer.Flush();
        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>The batch in a payload written by <see cref="Encode"/> (or by vLLM): what a router reads.</summary>
    /// <remarks>
    /// Lenient where the format grows, as a router must be with other engines' and later versions' events: fields after
    /// the known ones are skipped, an event of an unknown kind is left out, a block stored without a medium (vLLM
    /// before mediums) is on the device, and hashes written as signed integers keep their 64 bits. Strict about what it
    /// reads: MessagePack's reader refuses an array longer than the bytes left, so a forged length allocates nothing.
    /// </remarks>
    /// <exception cref="FormatException">The payload is not a KV-event batch; the message says where.</exception>
    public static DbrxKvEventBatch Decode(ReadOnlyMemory<byte> payload)
    {
        var reader = new MessagePackReader(payload);
        try
        {
            Expect(reader.ReadArrayHeader() == 3, "the batch is not [timestamp, events, dp_rank]");
            double seconds = reader.ReadDouble();
            Expect(double.IsFinite(seconds), "the timestamp is not a number");
            int count = reader.ReadArrayHeader();
            var events = new List<DbrxKvCacheEvent>(count);
            for (int i = 0; i < count; i++)
            {
                if (ReadEvent(ref reader, i) is { } e)
                    events.Add(e);
            }
            int rank = reader.ReadInt32();
            Expect(reader.End, "bytes follow the batch");
            return new DbrxKvEventBatch(DateTimeOffset.UnixEpoch.AddMilliseconds(Math.Clamp(seconds * 1000, 0, 253402300799999)), events, rank);
        }
        catch (Exception e) when (e is MessagePackSerializationException or EndOfStreamException or OverflowException or InvalidOperationException)
        {
            throw new FormatException($"Not a KV-event batch: {e.Message}", e);
        }
    }

    private static void WriteEvent(ref MessagePackWriter writer, DbrxKvCacheEvent e)
    {
        switch (e)
        {
            case DbrxKvCacheEvent.BlockStored stored:
                writer.WriteArrayHeader(8);
                writer.Write("BlockStored");
                WriteHashes(ref writer, stored.BlockHashes);
                if (stored.ParentBlockHash is ulong parent)
                    writer.Write(parent);
                else
                    writer.WriteNil();
                writer.WriteArrayHeader(stored.TokenIds.Count);
                foreach (int token in stored.TokenIds)
                    writer.Write(token);
                writer.Write(stored.BlockSize);
                writer.WriteNil();   // lora_id: no adapters
                writer.Write(Medium(stored.Medium));
                writer.WriteNil();   // lora_name
                break;
            case DbrxKvCacheEvent.BlockRemoved removed:
                writer.WriteArrayHeader(3);
                writer.Write("BlockRemoved");
                WriteHashes(ref writer, removed.BlockHashes);
                writer.Write(Medium(removed.Medium));
                break;
            case DbrxKvCacheEvent.AllBlocksCleared:
                writer.WriteArrayHeader(1);
                writer.Write("AllBlocksCleared");
                break;
            default:
                throw new ArgumentException($"Unknown KV-cache event {e.GetType().Name}.", nameof(e));
        }
    }

    private static void WriteHashes(ref MessagePackWriter writer, IReadOnlyList<ulong> hashes)
    {
        writer.WriteArrayHeader(hashes.Count);
        foreach (ulong hash in hashes)
            writer.Write(hash);
    }

    private static DbrxKvCacheEvent? ReadEvent(ref MessagePackReader reader, int index)
    {
        int fields = reader.ReadArrayHeader();
        Expect(fields >= 1, $"event {index} is empty");
        string? tag = reader.ReadString();
        switch (tag)
        {
            case "BlockStored":
                // vLLM before mediums sent six fields, before lora_name seven; later ones may add more, which are skipped.
                Expect(fields >= 6, $"event {index} (BlockStored) has {fields} fields, not 6 or more");
                IReadOnlyList<ulong> hashes = ReadHashes(ref reader);
                ulong? parent = reader.TryReadNil() ? null : ReadHash(ref reader);
                int tokenCount = reader.ReadArrayHeader();
                var tokens = new int[tokenCount];
                for (int t = 0; t < tokenCount; t++)
                    tokens[t] = reader.ReadInt32();
                int blockSize = reader.ReadInt32();
                Expect(blockSize > 0 && tokens.Length == hashes.Count * (long)blockSize, $"event {index} (BlockStored) has {tokens.Length} tokens for {hashes.Count} blocks of {blockSize}");
                reader.Skip();   // lora_id
                DbrxKvCacheMedium medium = fields >= 7 ? ReadMedium(ref reader, index) : DbrxKvCacheMedium.Device;
                for (int f = 7; f < fields; f++)
                    reader.Skip();
                return new DbrxKvCacheEvent.BlockStored(hashes, parent, tokens, blockSize, medium);
            case "BlockRemoved":
                Expect(fields >= 2, $"event {index} (BlockRemoved) has {fields} fields, not 2 or more");
                IReadOnlyList<ulong> removed = ReadHashes(ref reader);
                DbrxKvCacheMedium from = fields >= 3 ? ReadMedium(ref reader, index) : DbrxKvCacheMedium.Device;
                for (int f = 3; f < fields; f++)
                    reader.Skip();
                return new DbrxKvCacheEvent.BlockRemoved(removed, from);
            case "AllBlocksCleared":
                for (int f = 1; f < fields; f++)
                    reader.Skip();
                return new DbrxKvCacheEvent.AllBlocksCleared();
            default:
                for (int f = 1; f < fields; f++)
                    reader.Skip();
                return null;   // a kind this version does not know
        }
    }

    private static ulong[] ReadHashes(ref MessagePackReader reader)
    {
        var hashes = new ulong[reader.ReadArrayHeader()];
        for (int i = 0; i < hashes.Length; i++)
            hashes[i] = ReadHash(ref reader);
        return hashes;
    }

    /// <summary>A block hash: 64 bits, which a publisher may have written as a signed integer.</summary>
    private static ulong ReadHash(ref MessagePackReader reader) =>
        reader.NextCode is >= MessagePackCode.MinNegativeFixInt or MessagePackCode.Int8 or MessagePackCode.Int16 or MessagePackCode.Int32 or MessagePackCode.Int64
            ? unchecked((ulong)reader.ReadInt64())
            : reader.ReadUInt64();

    private static string Medium(DbrxKvCacheMedium medium) => medium == DbrxKvCacheMedium.Host ? HostMedium : DeviceMedium;

    private static DbrxKvCacheMedium ReadMedium(ref MessagePackReader reader, int index)
    {
        if (reader.TryReadNil())
            return DbrxKvCacheMedium.Device;   // vLLM before mediums: its GPU cache
        string? medium = reader.ReadString();
        if (string.Equals(medium, DeviceMedium, StringComparison.OrdinalIgnoreCase))
            return DbrxKvCacheMedium.Device;
        if (string.Equals(medium, HostMedium, StringComparison.OrdinalIgnoreCase))
            return DbrxKvCacheMedium.Host;
        throw new FormatException($"Not a KV-event batch: event {index} has the unknown medium '{medium}'.");
    }

    private static void Expect(bool condition, string what)
    {
        if (!condition)
            throw new FormatException($"Not a KV-event batch: {what}.");
    }
}
