using System.Diagnostics;
using System.IO.Hashing;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using System.Threading.Channels;
using Dbrx.Extensions.AI;
using Dbrx.Inference.Configuration;
using Dbrx.Inference.Generation;
using Dbrx.Inference.Loading;
using Dbrx.KvEvents;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;
using NetMQ;
using NetMQ.Sockets;

namespace Dbrx.Server.Tests;

/// <summary>
/// The prefix cache's events in llm-d's wire format: the format both ways, a router written with pyzmq and msgpack
/// replaying a real server's events into exactly the blocks the engine holds, and <c>dbrx serve --kv-events</c>. In the
/// Load collection: a server of its own disposed beside the shared one would stop its engine gauges' export.
/// </summary>
[Collection("Load")]
public sealed class KvEventsTests(TinyModel model)
{
    private static CancellationToken Cancellation => TestContext.Current.CancellationToken;

    [Fact]
    public void A_batch_reads_back_as_written()
    {
        var batch = new DbrxKvEventBatch(DateTimeOffset.FromUnixTimeMilliseconds(1_765_000_000_123),
        [
            new DbrxKvCacheEvent.BlockStored([1, ulong.MaxValue], null, [5, 6, 7, 8], 2, DbrxKvCacheMedium.Device),
            new DbrxKvCacheEvent.BlockStored([3], ulong.MaxValue, [9, 100_276], 2, DbrxKvCacheMedium.Host),
            new DbrxKvCacheEvent.BlockRemoved([1, 3], DbrxKvCacheMedium.Host),
            new DbrxKvCacheEvent.AllBlocksCleared(),
        ], dataParallelRank: 2);
        DbrxKvEventBatch read = DbrxKvEventWire.Decode(DbrxKvEventWire.Encode(batch));
        Assert.Equal(batch.Timestamp, read.Timestamp);
        Assert.Equal(2, read.DataParallelRank);
        Assert.Equal(Describe(batch), Describe(read));
        Assert.Equal(0x0102030405060708, DbrxKvEventWire.DecodeSequence([1, 2, 3, 4, 5, 6, 7, 8]));
        Assert.Equal([0, 0, 0, 0, 0, 0, 1, 0], DbrxKvEventWire.EncodeSequence(256));
        Assert.Equal("kv@10.0.0.7:8000@dbrx-instruct", DbrxKvEventWire.Topic("10.0.0.7:8000", "dbrx-instruct"));
    }

    [Fact]
    public void A_payload_that_is_not_a_batch_is_a_format_error_never_a_large_allocation()
    {
        byte[] valid = DbrxKvEventWire.Encode(new DbrxKvEventBatch(DateTimeOffset.UnixEpoch, [new DbrxKvCacheEvent.BlockStored([1, 2], null, [1, 2, 3, 4], 2, DbrxKvCacheMedium.Device)]));
        for (int length = 0; length < valid.Length; length++)
            Assert.Throws<FormatException>(() => DbrxKvEventWire.Decode(valid.AsMemory(0, length)));
        var random = new Random(5);
        for (int i = 0; i < 2000; i++)
        {
            var garbage = new byte[random.Next(1, 64)];
            random.NextBytes(garbage);
            try
            {
                DbrxKvEventWire.Decode(garbage);
            }
            catch (FormatException)
            {
            }
        }
        // An array of 2^32 - 1 events in 8 bytes, a block whose tokens do not fill it, an unknown tag and medium.
        Assert.Throws<FormatException>(() => DbrxKvEventWire.Decode(new byte[] { 0x93, 0xcb, 0, 0, 0, 0, 0, 0, 0, 0, 0xdd, 0xff, 0xff, 0xff, 0xff }));
        Assert.Contains("3 tokens for 2 blocks of 2", Assert.Throws<FormatException>(() => DbrxKvEventWire.Decode(Payload("""[["BlockStored", [1, 2], null, [1, 2, 3], 2, null, "GPU", null]]"""))).Message);
        // A kind this version does not know is left out, with what follows it read on.
        Assert.IsType<DbrxKvCacheEvent.AllBlocksCleared>(Assert.Single(DbrxKvEventWire.Decode(Payload("""[["BlockMoved", [1], "GPU"], ["AllBlocksCleared"]]""")).Events));
        Assert.Contains("unknown medium 'TAPE'", Assert.Throws<FormatException>(() => DbrxKvEventWire.Decode(Payload("""[["BlockRemoved", [1], "TAPE"]]"""))).Message);
    }

    /// <summary>
    /// A router in another language (pyzmq and msgpack) subscribes to a real server's events while requests fill a
    /// prefix cache of four device and four host blocks, so blocks are stored, demoted and dropped: it replays every
    /// message without an inconsistency, in order, and ends with the blocks the engine reports on each medium; every
    /// stored block's hash is the chained XxHash64 of its tokens, computed here independently.
    /// </summary>
    [Fact]
    [Trait("Category", "Slow")]
    public async Task A_python_router_replaying_the_events_holds_what_the_engine_holds()
    {
        string endpoint = $"tcp://127.0.0.1:{FreePort()}", topic = DbrxKvEventWire.Topic("127.0.0.1:8000", TinyModel.Id);
        long blockBytes = BlockBytes();
        await using DbrxTestServer server = await DbrxTestServer.StartAsync(model,
            client =>
            {
                client.SystemPrompt = "";
                client.MaxBatchSize = 2;
                client.PrefixCacheBytes = 4 * blockBytes;
                client.HostPrefixCacheBytes = 4 * blockBytes;
            },
            services: services => services.AddDbrxKvEvents(options =>
            {
                options.Endpoint = endpoint;
                options.Topic = topic;
            }));
        var publisher = server.Services.GetRequiredService<DbrxKvEventPublisher>();
        using var router = Router.Start(endpoint, topic);
        await router.SyncAsync(publisher);
        long firstSeen = router.Lines[^1].GetProperty("seq").GetInt64();

        string[] words = ["river", "cloud", "engine", "violin", "harbour", "lantern"];
        foreach (string word in words)
        {
            string prompt = string.Join(' ', Enumerable.Repeat(word, 70));
            using HttpResponseMessage response = await server.Http.PostAsync("/v1/chat/completions", new StringContent(
                $$"""{"model":"{{TinyModel.Id}}","messages":[{"role":"user","content":"{{prompt}}"}],"max_tokens":4,"temperature":0}""", Encoding.UTF8, "application/json"), Cancellation);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }
        await router.WaitForAsync(publisher.Published - 1);

        DbrxEngineStatistics engine = server.InProcess.GetService<DbrxChatClient>()!.EngineStatistics;
        JsonElement last = router.Lines[^1];
        Assert.Equal((engine.PrefixCacheBlocks, engine.HostPrefixCacheBlocks), (last.GetProperty("gpu").GetInt32(), last.GetProperty("cpu").GetInt32()));
        Assert.Equal((4, 4), (engine.PrefixCacheBlocks, engine.HostPrefixCacheBlocks));   // both tiers full: blocks were demoted and dropped
        Assert.Equal(Enumerable.Range(0, router.Lines.Count).Select(i => firstSeen + i), router.Lines.Select(l => l.GetProperty("seq").GetInt64()));
        int stored = 0;
        foreach (JsonElement line in router.Lines)
        {
            Assert.Empty(line.GetProperty("errors").EnumerateArray());
            Assert.Equal(topic, line.GetProperty("topic").GetString());
            Assert.Equal(0, line.GetProperty("dp_rank").GetInt32());
            foreach (JsonElement block in line.GetProperty("stored").EnumerateArray())
            {
                ulong parent = block[1].ValueKind == JsonValueKind.Null ? 0 : block[1].GetUInt64();
                int[] tokens = [.. block[2].EnumerateArray().Select(t => t.GetInt32())];
                Assert.Equal(new DbrxChatClientOptions().PrefixBlockTokens, tokens.Length);
                Assert.Equal(XxHash64.HashToUInt64([.. BitConverter.GetBytes(parent), .. tokens.SelectMany(BitConverter.GetBytes)]), block[0].GetUInt64());
                stored++;
            }
        }
        Assert.True(stored >= words.Length * 2, $"{stored} blocks stored");
    }

    [Fact]
    [Trait("Category", "Slow")]
    public async Task Dbrx_serve_publishes_events_with_its_topic_when_asked()
    {
        string endpoint = $"tcp://127.0.0.1:{FreePort()}", topic = DbrxKvEventWire.Topic("127.0.0.1:8000", "replica-a");
        using var subscriber = new SubscriberSocket();
        subscriber.Subscribe("kv@");
        subscriber.Connect(endpoint);
        using ServeProcess serve = await ServeProcess.StartAsync("--model", model.Directory, "--device", "cpu", "--system-prompt", "", "--model-id", "replica-a", "--kv-events", endpoint, "--kv-events-topic", topic);
        // A subscription reaches a publisher some time after it connects (ZeroMQ's slow joiner): asked until one arrives.
        List<byte[]>? frames = null;
        for (int attempt = 0; attempt < 20 && frames is null; attempt++)
        {
            string prompt = string.Join(' ', Enumerable.Repeat($"meadow{attempt}", 70));
            using HttpResponseMessage response = await serve.Http.PostAsync("/v1/chat/completions", new StringContent(
                $$"""{"model":"replica-a","messages":[{"role":"user","content":"{{prompt}}"}],"max_tokens":2}""", Encoding.UTF8, "application/json"), Cancellation);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            NetMQMessage? message = null;
            if (subscriber.TryReceiveMultipartMessage(TimeSpan.FromSeconds(2), ref message))
                frames = [.. message.Select(frame => frame.ToByteArray())];
        }
        Assert.NotNull(frames);
        Assert.Equal(3, frames.Count);
        Assert.Equal(topic, Encoding.UTF8.GetString(frames[0]));
        DbrxKvEventBatch batch = DbrxKvEventWire.Decode(frames[2]);
        Assert.Contains(batch.Events, e => e is DbrxKvCacheEvent.BlockStored { Medium: DbrxKvCacheMedium.Device });
    }

    /// <summary>The pyzmq router (kv_events_subscriber.py), its JSON lines collected as they come.</summary>
    private sealed class Router : IDisposable
    {
        private readonly Process process;
        private readonly Channel<JsonElement> lines = Channel.CreateUnbounded<JsonElement>();
        private readonly TaskCompletionSource subscribed = new(TaskCreationOptions.RunContinuationsAsynchronously);

        private Router(Process process)
        {
            this.process = process;
        }

        public List<JsonElement> Lines { get; } = [];

        public static Router Start(string endpoint, string topic)
        {
            var start = new ProcessStartInfo("/usr/bin/python3") { RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true, UseShellExecute = false };
            start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "kv_events_subscriber.py"));
            start.ArgumentList.Add(endpoint);
            start.ArgumentList.Add(topic);
            var router = new Router(Process.Start(start)!);
            router.process.OutputDataReceived += (_, e) =>
            {
                if (e.Data == "subscribed")
                    router.subscribed.TrySetResult();
                else if (e.Data is { Length: > 0 } json)
                    router.lines.Writer.TryWrite(JsonDocument.Parse(json).RootElement.Clone());
            };
            router.process.ErrorDataReceived += (_, e) =>
            {
                if (e.Data is { Length: > 0 } error)
                    router.subscribed.TrySetException(new InvalidOperationException($"kv_events_subscriber.py (needs python3-zmq and python3-msgpack): {error}"));
            };
            router.process.BeginOutputReadLine();
            router.process.BeginErrorReadLine();
            return router;
        }

        /// <summary>Publishes empty-cache batches (true of a cache no request has used) until the router receives one, then waits for the last.</summary>
        public async Task SyncAsync(DbrxKvEventPublisher publisher)
        {
            await subscribed.Task.WaitAsync(TimeSpan.FromSeconds(30), Cancellation);
            for (int attempt = 0; attempt < 200; attempt++)
            {
                publisher.Publish(new DbrxKvCacheChangedEventArgs([new DbrxKvCacheEvent.AllBlocksCleared()]));
                using var wait = CancellationTokenSource.CreateLinkedTokenSource(Cancellation);
                wait.CancelAfter(TimeSpan.FromMilliseconds(100));
                try
                {
                    Lines.Add(await lines.Reader.ReadAsync(wait.Token));
                    break;
                }
                catch (OperationCanceledException) when (!Cancellation.IsCancellationRequested)
                {
                }
            }
            Assert.NotEmpty(Lines);
            await WaitForAsync(publisher.Published - 1);
            Lines.RemoveRange(0, Lines.Count - 1);
        }

        /// <summary>Reads lines until the one of message <paramref name="sequence"/>.</summary>
        public async Task WaitForAsync(long sequence)
        {
            using var wait = CancellationTokenSource.CreateLinkedTokenSource(Cancellation);
            wait.CancelAfter(TimeSpan.FromMinutes(1));
            while (Lines[^1].GetProperty("seq").GetInt64() < sequence)
                Lines.Add(await lines.Reader.ReadAsync(wait.Token));
        }

        public void Dispose()
        {
            process.StandardInput.Close();
            if (!process.WaitForExit(TimeSpan.FromSeconds(10)))
                process.Kill();
            process.Dispose();
        }
    }

    private long BlockBytes()
    {
        DbrxConfig config = DbrxConfigJson.Load(Path.Combine(model.Directory, DbrxConfigJson.FileName));
        return DbrxMemoryFootprint.BlockCacheBytes(config, elementBytes: sizeof(float), rows: 1, tokens: new DbrxChatClientOptions().PrefixBlockTokens) * config.NLayers;
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary>A batch [0.0, events, 0] around <paramref name="eventsJson"/>, in MessagePack, written by a minimal encoder of JSON values.</summary>
    private static byte[] Payload(string eventsJson)
    {
        var bytes = new List<byte> { 0x93, 0xcb, 0, 0, 0, 0, 0, 0, 0, 0 };
        Write(JsonDocument.Parse(eventsJson).RootElement, bytes);
        bytes.Add(0);
        return [.. bytes];

        static void Write(JsonElement value, List<byte> bytes)
        {
            switch (value.ValueKind)
            {
                case JsonValueKind.Array:
                    bytes.Add((byte)(0x90 | value.GetArrayLength()));
                    foreach (JsonElement item in value.EnumerateArray())
                        Write(item, bytes);
                    break;
                case JsonValueKind.String:
                    byte[] text = Encoding.UTF8.GetBytes(value.GetString()!);
                    bytes.Add((byte)(0xa0 | text.Length));
                    bytes.AddRange(text);
                    break;
                case JsonValueKind.Number:
                    bytes.Add((byte)value.GetInt32());   // positive fixint
                    break;
                default:
                    bytes.Add(0xc0);   // nil
                    break;
            }
        }
    }

    private static List<string> Describe(DbrxKvEventBatch batch) => [.. batch.Events.Select(e => e switch
    {
        DbrxKvCacheEvent.BlockStored s => $"Stored {s.Medium} [{string.Join(',', s.BlockHashes)}] after {s.ParentBlockHash?.ToString() ?? "-"} tokens {string.Join(',', s.TokenIds)} size {s.BlockSize}",
        DbrxKvCacheEvent.BlockRemoved r => $"Removed {r.Medium} [{string.Join(',', r.BlockHashes)}]",
        _ => e.GetType().Name,
    })];
}
