using MessagePack;

namespace Dbrx.Gateway;

/// <summary>
/// Decodes the payload of one KV-cache event message in llm-d's format: msgpack
/// <c>[timestamp, [events...], dp_rank]</c>, an event being <c>["BlockStored", [hashes], parent, [token ids],
/// block_size, lora_id, medium, lora_name, ...]</c>, <c>["BlockRemoved", [hashes], medium]</c> or
/// <c>["AllBlocksCleared"]</c>. Fields the gateway does not use are skipped, trailing ones too (the format grows at
/// the end); unknown event kinds are skipped. The input is untrusted: counts are bounded by the bytes present.
/// </summary>
internal static class KvEventDecoder
{
    /// <exception cref="FormatException">The payload is not a batch of events in this format.</exception>
    public static List<KvEvent> Decode(ReadOnlyMemory<byte> payload)
    {
        try
        {
            var reader = new MessagePackReader(payload);
            int fields = reader.ReadArrayHeader();
            if (fields < 2)
                throw new FormatException($"A KV event batch is an array of at least 2 fields, not {fields}.");
            reader.Skip(); // timestamp
            int count = reader.ReadArrayHeader();
            var events = new List<KvEvent>(Math.Min(count, 1024));
            for (int i = 0; i < count; i++)
            {
                if (ReadEvent(ref reader) is { } kvEvent)
                    events.Add(kvEvent);
            }
            return events;
        }
        catch (MessagePackSerializationException e)
        {
            throw new FormatException("A KV event batch is not valid msgpack: " + e.Message, e);
        }
        catch (EndOfStreamException e)
        {
            throw new FormatException("A KV event batch ends early.", e);
        }
    }

    private static KvEvent? ReadEvent(ref MessagePackReader reader)
    {
        int fields = reader.ReadArrayHeader();
        if (fields < 1)
            throw new FormatException("A KV event is an array starting with its kind.");
        string? kind = reader.ReadString();
        int read = 1;
        KvEvent? result = null;
        switch (kind)
        {
            case "BlockStored" when fields >= 2:
                IReadOnlyList<ulong> stored = ReadHashes(ref reader);
                read = 2;
                string? storedMedium = null;
                if (fields >= 7)
                {
                    for (; read < 6; read++)
                        reader.Skip(); // parent hash, token ids, block size, lora id
                    storedMedium = reader.ReadString();
                    read = 7;
                }
                result = new BlockStored(stored, storedMedium);
                break;
            case "BlockRemoved" when fields >= 2:
                IReadOnlyList<ulong> removed = ReadHashes(ref reader);
                string? removedMedium = fields >= 3 ? reader.ReadString() : null;
                read = fields >= 3 ? 3 : 2;
                result = new BlockRemoved(removed, removedMedium);
                break;
            case "AllBlocksCleared":
                result = new AllBlocksCleared();
                break;
        }
        for (; read < fields; read++)
            reader.Skip();
        return result;
    }

    /// <summary>Block hashes: unsigned 64-bit values, which a publisher may have written as signed integers (same bits).</summary>
    private static ulong[] ReadHashes(ref MessagePackReader reader)
    {
        int count = reader.ReadArrayHeader();
        // Each hash takes at least one byte: a count beyond what is left is a lie, refused before allocating.
        if (count > reader.Sequence.Slice(reader.Position).Length)
            throw new FormatException($"A KV event claims {count} block hashes, more than its bytes hold.");
        var hashes = new ulong[count];
        for (int i = 0; i < count; i++)
            hashes[i] = reader.NextCode is >= MessagePackCode.MinNegativeFixInt or MessagePackCode.Int8 or MessagePackCode.Int16 or MessagePackCode.Int32 or MessagePackCode.Int64
                ? unchecked((ulong)reader.ReadInt64())
                : reader.ReadUInt64();
        return hashes;
    }
}
