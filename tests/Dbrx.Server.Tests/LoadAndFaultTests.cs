using System.Collections.Concurrent;
using System.Net;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;
using Dbrx.Extensions.AI;
using Dbrx.Inference.Configuration;
using Dbrx.Inference.Generation;
using Dbrx.Inference.Loading;
using Microsoft.Extensions.AI;

namespace Dbrx.Server.Tests;

/// <summary>Tests that need the machine to themselves: they run after the others, one at a time, one server at a time.</summary>
[CollectionDefinition("Load", DisableParallelization = true)]
public sealed class LoadCollection;

/// <summary>
/// Load and faults, bounded in count: a full queue, clients that disconnect, 64 concurrent streaming clients with 6
/// requests each, and the tensors alive over 2,000 requests.
/// </summary>
[Collection("Load")]
[Trait("Category", "Slow")]
public sealed class LoadAndFaultTests(TinyModel model)
{
    private static CancellationToken Cancellation => TestContext.Current.CancellationToken;
    private const string Hello = """[{"role":"user","content":"Hello"}]""";

    /// <summary>
    /// The one row held, a second request is refused with 429; the holding client then disconnects mid-answer, the
    /// server lets go of the answer before its end, the row is freed, and the next request is answered.
    /// </summary>
    [Fact]
    public async Task AFullQueueIsA429WithRetryAfterAndADisconnectFreesTheRowAtOnce()
    {
        const int holdingTokens = 1500;
        AnswerWatch? watch = null;
        await using DbrxTestServer busy = await DbrxTestServer.StartAsync(model, client =>
        {
            client.MaxBatchSize = 1;
            client.MaxQueuedRequests = 0;
        }, layer: inner => watch = new AnswerWatch(inner, holdingTokens));
        // A long answer holds the only row.
        using var holding = new CancellationTokenSource();
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/chat/completions")
        {
            Content = new StringContent($$"""{"model":"tiny-dbrx","messages":{{Hello}},"max_tokens":{{holdingTokens}},"temperature":0,"stream":true}""", Encoding.UTF8, "application/json"),
        };
        using HttpResponseMessage stream = await busy.Http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, holding.Token);
        using var reader = new StreamReader(await stream.Content.ReadAsStreamAsync(holding.Token));
        Assert.StartsWith("data: {", await reader.ReadLineAsync(holding.Token));
        // The engine's figures, read from this server's own client (an exporter reads every meter of the engine's name
        // in the process, other tests' engines included), and exported.
        DbrxEngineStatistics engine = busy.InProcess.GetService<DbrxChatClient>()!.EngineStatistics;
        Assert.Equal((0, 1), (engine.WaitingRequests, engine.RunningRequests));
        Assert.True(engine.KvCacheUsage > 0);
        string metrics = await busy.Http.GetStringAsync("/metrics", Cancellation);
        foreach (string gauge in (string[])["dbrx_engine_waiting_requests{", "dbrx_engine_running_requests{", "dbrx_engine_kv_cache_usage{"])
            Assert.Contains(gauge, metrics, StringComparison.Ordinal);

        using HttpResponseMessage refused = await busy.Http.PostAsync("/v1/chat/completions", new StringContent($$"""{"model":"tiny-dbrx","messages":{{Hello}},"max_tokens":2}""", Encoding.UTF8, "application/json"), Cancellation);
        JsonElement error = await BadInputTests.ExpectError(refused, HttpStatusCode.TooManyRequests);
        Assert.Equal("rate_limit_exceeded", error.GetProperty("code").GetString());
        Assert.Equal(TimeSpan.FromSeconds(1), refused.Headers.RetryAfter?.Delta);
        Assert.Equal(1, await busy.MetricAsync("dbrx_server_requests_total", "outcome=\"busy\""));

        // The client goes away mid-answer: the server stops reading the answer before its end, its row is freed (the
        // engine's decode steps stop with it: DbrxGeneratorTests count them), and the next request runs.
        holding.Cancel();
        stream.Dispose();
        Assert.False(await watch!.ReadToTheEnd.WaitAsync(TimeSpan.FromMinutes(2), Cancellation), "the server read the whole answer of a client that had gone");
        await WhenIdle(busy);
        using HttpResponseMessage next = await busy.Http.PostAsync("/v1/chat/completions", new StringContent($$"""{"model":"tiny-dbrx","messages":{{Hello}},"max_tokens":2}""", Encoding.UTF8, "application/json"), Cancellation);
        Assert.Equal(HttpStatusCode.OK, next.StatusCode);
        Assert.Equal(1, await busy.MetricAsync("dbrx_server_requests_total", "outcome=\"cancelled\""));
    }

    /// <summary>A streamed answer as a client saw it: its text, and whether it got to <c>[DONE]</c>.</summary>
    private sealed record Streamed(string Text, bool Completed);

    /// <summary>
    /// Streams a greedy answer; with <paramref name="disconnectAfter"/>, the client goes away after that many chunks (0:
    /// while still waiting for the first).
    /// </summary>
    private static async Task<Streamed> StreamAsync(HttpClient http, string prompt, int maxTokens, int? disconnectAfter, Random random)
    {
        using var leave = new CancellationTokenSource();
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/chat/completions")
        {
            Content = new StringContent(JsonSerializer.Serialize(new
            {
                model = TinyModel.Id,
                messages = new[] { new { role = "user", content = prompt } },
                max_tokens = maxTokens,
                temperature = 0,
                stream = true,
            }), Encoding.UTF8, "application/json"),
        };
        if (disconnectAfter == 0)
            leave.CancelAfter(random.Next(1, 200));
        var text = new StringBuilder();
        try
        {
            using HttpResponseMessage response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, leave.Token);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            using var reader = new StreamReader(await response.Content.ReadAsStreamAsync(leave.Token));
            int chunks = 0;
            while (await reader.ReadLineAsync(leave.Token) is { } line)
            {
                if (!line.StartsWith("data: ", StringComparison.Ordinal))
                    continue;
                string data = line["data: ".Length..];
                if (data == "[DONE]")
                    return new Streamed(text.ToString(), true);
                using JsonDocument chunk = JsonDocument.Parse(data);
                Assert.False(chunk.RootElement.TryGetProperty("error", out _), data);
                foreach (JsonElement choice in chunk.RootElement.GetProperty("choices").EnumerateArray())
                {
                    if (choice.GetProperty("delta").TryGetProperty("content", out JsonElement content))
                        text.Append(content.GetString());
                }
                if (++chunks == disconnectAfter)
                    leave.Cancel();
            }
            throw new InvalidOperationException("The stream ended without [DONE].");
        }
        catch (OperationCanceledException) when (leave.IsCancellationRequested)
        {
            return new Streamed(text.ToString(), false);
        }
    }

    [Fact]
    public async Task SixtyFourStreamingClientsWithAQuarterDisconnectingGetTheirSoloAnswers()
    {
        await using DbrxTestServer server = await DbrxTestServer.StartAsync(model, client => client.MaxQueuedRequests = 256);
        string[] prompts = ["Hello", "What is DBRX?", "Name three rivers.", "Write a haiku about rain.", "2 + 2 = ?", "Translate 'cat' to French.", "Tell me a joke.", "Why is the sky blue?"];
        // Long enough that most disconnects come while the answer is still being generated.
        const int maxTokens = 32, clients = 64, requestsEach = 6;
        var solo = new Dictionary<string, string>();
        foreach (string prompt in prompts)
        {
            Streamed alone = await StreamAsync(server.Http, prompt, maxTokens, null, new Random(0));
            Assert.True(alone.Completed);
            solo[prompt] = alone.Text;
        }

        int completed = 0, disconnected = 0, meantToLeave = 0;
        var mismatches = new ConcurrentQueue<string>();
        await Task.WhenAll(Enumerable.Range(0, clients).Select(client => Task.Run(async () =>
        {
            var random = new Random(client);
            for (int i = 0; i < requestsEach; i++)
            {
                string prompt = prompts[random.Next(prompts.Length)];
                int? disconnectAfter = random.Next(4) == 0 ? random.Next(0, 20) : null;
                if (disconnectAfter is not null)
                    Interlocked.Increment(ref meantToLeave);
                Streamed answer = await StreamAsync(server.Http, prompt, maxTokens, disconnectAfter, random);
                if (!answer.Completed)
                {
                    Interlocked.Increment(ref disconnected);
                    continue;
                }
                Interlocked.Increment(ref completed);
                if (answer.Text != solo[prompt])
                    mismatches.Enqueue($"{prompt}: {answer.Text} != {solo[prompt]}");
            }
        }, Cancellation)));

        Assert.Empty(mismatches);
        // Every request either completed with its solo answer or was left by its client (one that meant to leave after
        // more chunks than the answer had completes), and a quarter or so meant to leave.
        Assert.Equal(clients * requestsEach, completed + disconnected);
        Assert.InRange(disconnected, 1, meantToLeave);
        Assert.True(meantToLeave >= clients * requestsEach / 8, $"{meantToLeave} of {clients * requestsEach} meant to leave");
        // Nothing left running or waiting (a cancelled request's row is freed at the worker's next step).
        await WhenIdle(server);
        Assert.True(await server.MetricAsync("dbrx_server_requests_total", "outcome=\"cancelled\"") > 0);
        Assert.Equal(0, await server.MetricAsync("dbrx_server_requests_total", "outcome=\"error\""));
        Assert.Equal(0, await server.MetricAsync("dbrx_server_requests_total", "outcome=\"busy\""));
        // And a new request is served, with its solo answer.
        Streamed after = await StreamAsync(server.Http, prompts[2], maxTokens, null, new Random(0));
        Assert.Equal(solo[prompts[2]], after.Text);
    }

    /// <summary>
    /// 2,000 short requests through a real server, streamed and whole, greedy and sampled, 16 clients at once: once they
    /// are done, exactly as many tensors are alive as after the first 500 (the model, the KV cache, the rotary tables
    /// and the prefix cache's slots, nothing per request), and nothing runs or waits. The prefix cache holds a few
    /// blocks only, so the first 500 fill every slot it allocates and the rest evict and reuse them. The process's
    /// resident memory over such a run is a figure of <c>dbrx bench --serve</c>, not an assertion here.
    /// </summary>
    [Fact]
    public async Task NoTensorOutlivesItsRequestOver2000Requests()
    {
        const int prefixBlocks = 8;
        DbrxConfig config = DbrxConfigJson.Load(Path.Combine(model.Directory, DbrxConfigJson.FileName));
        long blockBytes = DbrxMemoryFootprint.BlockCacheBytes(config, elementBytes: sizeof(float), rows: 1, tokens: new DbrxChatClientOptions().PrefixBlockTokens) * config.NLayers;
        await using DbrxTestServer server = await DbrxTestServer.StartAsync(model, client =>
        {
            client.MaxBatchSize = 8;
            client.SystemPrompt = "";
            client.PrefixCacheBytes = prefixBlocks * blockBytes;
        });
        const int total = 2000, warmUp = 500;
        // The first 500, then (nothing in flight) the count, then the rest, then the count again.
        await Requests(server, 1, warmUp);
        await WhenIdle(server);
        long afterWarmUp = LiveTensors();
        DbrxEngineStatistics Engine() => server.InProcess.GetService<DbrxChatClient>()!.EngineStatistics;
        Assert.Equal(prefixBlocks, Engine().PrefixCacheBlocks);
        await Requests(server, warmUp + 1, total);
        await WhenIdle(server);
        Assert.Equal(afterWarmUp, LiveTensors());
        Assert.Equal(prefixBlocks, Engine().PrefixCacheBlocks);
        Assert.Equal(total, await server.MetricAsync("dbrx_server_requests_total", "outcome=\"ok\""));
    }

    /// <summary>Requests <paramref name="first"/> to <paramref name="last"/>, 16 clients at once, each answer checked.</summary>
    private static async Task Requests(DbrxTestServer server, int first, int last)
    {
        int next = first - 1;
        var words = new[] { "river", "cloud", "engine", "violin", "harbour", "lantern", "meadow", "quartz" };
        async Task Client(int id)
        {
            var random = new Random(id + first);
            while (Interlocked.Increment(ref next) is var n && n <= last)
            {
                string prompt = string.Join(' ', Enumerable.Range(0, random.Next(1, 40)).Select(_ => words[random.Next(words.Length)]));
                bool stream = n % 4 == 0;
                using HttpResponseMessage response = await server.Http.PostAsync("/v1/chat/completions", new StringContent(JsonSerializer.Serialize(new
                {
                    model = TinyModel.Id,
                    messages = new[] { new { role = "user", content = prompt } },
                    max_tokens = 1,
                    // Every tenth samples on the host (logits copied, sampler and its generator per request); the rest take the device argmax.
                    temperature = n % 10 == 0 ? 0.8 : 0,
                    stream,
                }), Encoding.UTF8, "application/json"), Cancellation);
                Assert.Equal(HttpStatusCode.OK, response.StatusCode);
                string body = await response.Content.ReadAsStringAsync(Cancellation);
                Assert.True(stream ? body.EndsWith("data: [DONE]\n\n", StringComparison.Ordinal) : body.Contains("\"completion_tokens\":", StringComparison.Ordinal), body);
            }
        }
        await Task.WhenAll(Enumerable.Range(0, 16).Select(Client));
    }

    /// <summary>
    /// Waits until nothing runs or waits in the engine. The engine's gauges on <c>/metrics</c> are the only view of its
    /// rows (a cancelled request's row is freed at the worker's next step, after its stream was let go), so they are polled.
    /// </summary>
    private static async Task WhenIdle(DbrxTestServer server)
    {
        using var guard = CancellationTokenSource.CreateLinkedTokenSource(Cancellation);
        guard.CancelAfter(TimeSpan.FromMinutes(2));
        DbrxChatClient client = server.InProcess.GetService<DbrxChatClient>()!;
        while (client.EngineStatistics is { RunningRequests: > 0 } or { WaitingRequests: > 0 })
            await Task.Delay(10, guard.Token);
    }

    /// <summary>
    /// Watches the answer to the request for <paramref name="maxOutputTokens"/> tokens as the server reads it from the
    /// DBRX client: whether the server read it to its end (its update with a finish reason) before letting it go.
    /// </summary>
    internal sealed class AnswerWatch(IChatClient inner, int maxOutputTokens) : DelegatingChatClient(inner)
    {
        private readonly TaskCompletionSource<bool> readToTheEnd = new(TaskCreationOptions.RunContinuationsAsynchronously);

        /// <summary>Completes when the server lets go of the answer: true if it had read the update that ends it.</summary>
        public Task<bool> ReadToTheEnd => readToTheEnd.Task;

        public override async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
        {
            bool finished = false;
            try
            {
                await foreach (ChatResponseUpdate update in base.GetStreamingResponseAsync(messages, options, cancellationToken))
                {
                    finished |= update.FinishReason is not null;
                    yield return update;
                }
            }
            finally
            {
                if (options?.MaxOutputTokens == maxOutputTokens)
                    readToTheEnd.TrySetResult(finished);
            }
        }
    }

    /// <summary>Tensors alive in this process after unreachable ones are finalized (TorchSharp counts every handle).</summary>
    private static long LiveTensors()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        return TorchSharp.torch.Tensor.TotalCount;
    }
}
