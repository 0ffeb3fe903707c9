using System.Buffers;
using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Text;
using Dbrx.Inference.Generation;
using Dbrx.KvEvents;
using MessagePack;
using Microsoft.Extensions.Logging.Abstractions;
using NetMQ;
using NetMQ.Sockets;

namespace Dbrx.Gateway.Tests;

/// <summary>KV-cache events in llm-d's wire format, written here independently with NetMQ and MessagePack, read by the gateway's subscriber.</summary>
public sealed class KvEventTests
{
    private const ulong High = 0xF123_4567_89AB_CDEF; // above long.MaxValue: a publisher may write it signed

    [Fact]
    public async Task The_subscriber_reads_each_event_kind_from_a_publisher_socket()
    {
        using var publisher = new PublisherSocket();
        int port = publisher.BindRandomPort("tcp://127.0.0.1");
        var sink = new RecordingSink();
        var forgotten = new ConcurrentQueue<string>();
        var subscriber = new KvEventSubscriber([("replica-a", $"tcp://127.0.0.1:{port}")], sink, forgotten.Enqueue, NullLogger.Instance);
        await subscriber.StartAsync(TestContext.Current.CancellationToken);
        try
        {
            // ZeroMQ's slow joiner: a subscriber misses what was sent before it connected, so the first message is
            // sent until it arrives; the sequence restarts after it.
            ulong sequence = 0;
            while (sink.Received.IsEmpty)
            {
                Publish(publisher, port, sequence++, Batch((ref MessagePackWriter w) => Cleared(ref w)));
                await Task.Delay(50, TestContext.Current.CancellationToken);
            }
            await Task.Delay(100, TestContext.Current.CancellationToken);
            while (sink.Received.TryDequeue(out _))
            {
            }
            Assert.Empty(forgotten);
            Publish(publisher, port, sequence + 100, Batch((ref MessagePackWriter w) => Stored(ref w, [1, High], signed: false), (ref MessagePackWriter w) => Stored(ref w, [2, High], signed: true), (ref MessagePackWriter w) => Removed(ref w, [1]), (ref MessagePackWriter w) => Unknown(ref w), (ref MessagePackWriter w) => Cleared(ref w)));
            Publish(publisher, port, sequence + 101, Batch((ref MessagePackWriter w) => Stored(ref w, [7], signed: false)));
            while (sink.Received.Count < 2)
                await Task.Delay(20, TestContext.Current.CancellationToken);
        }
        finally
        {
            subscriber.Dispose();
        }
        Assert.True(sink.Received.TryDequeue(out var batch));
        Assert.Equal("replica-a", batch.Replica);
        Assert.Collection(batch.Events,
            e => Assert.Equal((ulong[])[1, High], Assert.IsType<DbrxKvCacheEvent.BlockStored>(e).BlockHashes),
            e => Assert.Equal((ulong[])[2, High], Assert.IsType<DbrxKvCacheEvent.BlockStored>(e).BlockHashes),
            e => Assert.Equal(DbrxKvCacheMedium.Device, Assert.IsType<DbrxKvCacheEvent.BlockRemoved>(e).Medium),
            e => Assert.IsType<DbrxKvCacheEvent.AllBlocksCleared>(e));
        Assert.True(sink.Received.TryDequeue(out var next));
        Assert.Equal((ulong[])[7], Assert.IsType<DbrxKvCacheEvent.BlockStored>(Assert.Single(next.Events)).BlockHashes);
        // A jump of 100 in the sequence: events were lost in between, so what the replica held is forgotten, once.
        Assert.Equal(["replica-a"], forgotten);
    }

    [Fact]
    public void A_batch_claiming_more_hashes_than_its_bytes_is_refused()
    {
        byte[] lie = Batch((ref MessagePackWriter w) =>
        {
            w.WriteArrayHeader(2);
            w.Write("BlockRemoved");
            w.WriteArrayHeader(1_000_000);
        });
        Assert.Throws<FormatException>(() => DbrxKvEventWire.Decode(lie));
    }

    [Fact]
    public void The_index_tracks_media_and_stays_within_its_bound()
    {
        var index = new ReplicaPrefixIndex(maxBlocksPerReplica: 3, fromEvents: true);
        index.Apply("r", [Stored([1, 2], DbrxKvCacheMedium.Device), Stored([2], DbrxKvCacheMedium.Host), new DbrxKvCacheEvent.BlockRemoved([2], DbrxKvCacheMedium.Device)]);
        Assert.Equal(2, index.MatchedBlocks("r", [1, 2, 3])); // 2 is still on the host tier
        index.Apply("r", [Stored([3, 4], DbrxKvCacheMedium.Device)]); // 4 blocks for a bound of 3: the least recent (1) goes
        Assert.Equal(0, index.MatchedBlocks("r", [1, 2]));
        Assert.Equal(3, index.Count("r"));
        index.Routed("r", [9]); // ignored: events say what is held
        Assert.Equal(0, index.MatchedBlocks("r", [9]));
    }

    private static DbrxKvCacheEvent.BlockStored Stored(ulong[] hashes, DbrxKvCacheMedium medium) =>
        new(hashes, null, [.. hashes.Select(h => (int)h)], 1, medium);

    private static void Publish(PublisherSocket publisher, int port, ulong sequence, byte[] payload)
    {
        var sequenceBytes = new byte[8];
        BinaryPrimitives.WriteUInt64BigEndian(sequenceBytes, sequence);
        publisher.SendMoreFrame(Encoding.UTF8.GetBytes($"kv@127.0.0.1:{port}@tiny-dbrx")).SendMoreFrame(sequenceBytes).SendFrame(payload);
    }

    private delegate void WriteEvent(ref MessagePackWriter writer);

    /// <summary><c>[timestamp, [events], dp_rank]</c>.</summary>
    private static byte[] Batch(params WriteEvent[] events)
    {
        var buffer = new ArrayBufferWriter<byte>();
        var writer = new MessagePackWriter(buffer);
        writer.WriteArrayHeader(3);
        writer.Write(1765000000.5);
        writer.WriteArrayHeader(events.Length);
        foreach (WriteEvent write in events)
            write(ref writer);
        writer.Write(0);
        writer.Flush();
        return buffer.WrittenSpan.ToArray();
    }

    /// <summary><c>["BlockStored", [hashes], parent, [token ids], block_size, lora_id, medium, lora_name]</c>.</summary>
    private static void Stored(ref MessagePackWriter writer, ulong[] hashes, bool signed)
    {
        writer.WriteArrayHeader(8);
        writer.Write("BlockStored");
        writer.WriteArrayHeader(hashes.Length);
        foreach (ulong hash in hashes)
        {
            if (signed)
                writer.Write(unchecked((long)hash));
            else
                writer.Write(hash);
        }
        writer.WriteNil();
        writer.WriteArrayHeader(hashes.Length);   // one token per block
        foreach (ulong hash in hashes)
            writer.Write((int)(hash % 1000));
        writer.Write(1);
        writer.WriteNil();
        writer.Write("GPU");
        writer.WriteNil();
    }

    private static void Removed(ref MessagePackWriter writer, ulong[] hashes)
    {
        writer.WriteArrayHeader(3);
        writer.Write("BlockRemoved");
        writer.WriteArrayHeader(hashes.Length);
        foreach (ulong hash in hashes)
            writer.Write(hash);
        writer.Write("GPU");
    }

    private static void Unknown(ref MessagePackWriter writer)
    {
        writer.WriteArrayHeader(2);
        writer.Write("SomethingNew");
        writer.Write(1);
    }

    private static void Cleared(ref MessagePackWriter writer)
    {
        writer.WriteArrayHeader(1);
        writer.Write("AllBlocksCleared");
    }

    private sealed class RecordingSink : IKvEventSink
    {
        public ConcurrentQueue<(string Replica, IReadOnlyList<DbrxKvCacheEvent> Events)> Received { get; } = new();

        public void Apply(string replica, IReadOnlyList<DbrxKvCacheEvent> events) => Received.Enqueue((replica, events));
    }
}
