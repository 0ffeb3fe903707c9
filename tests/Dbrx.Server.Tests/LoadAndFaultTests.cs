using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Text;
using System.Text.Json;

namespace Dbrx.Server.Tests;

/// <summary>Tests that need the machine to themselves: they run after the others, one at a time, one server at a time.</summary>
[CollectionDefinition("Load", DisableParallelization = true)]
public sealed class LoadCollection;

/// <summary>
/// Load and faults, bounded in count and time: a full queue, clients that disconnect, 64 concurrent streaming
/// clients for about a minute, and the server process's memory over 2,000 requests.
/// </summary>
[Collection("Load")]
public sealed class LoadAndFaultTests(TinyModel model)
{
    private static CancellationToken Cancellation => TestContext.Current.CancellationToken;
    private const string Hello = """[{"role":"user","content":"Hello"}]""";

    [Fact]
    public async Task AFullQueueIsA429WithRetryAfterAndADisconnectFreesTheRowAtOnce()
    {
        await using DbrxTestServer busy = await DbrxTestServer.StartAsync(model, client =>
        {
            client.MaxBatchSize = 1;
            client.MaxQueuedRequests = 0;
        });
        // A long answer holds the only row.
        using var holding = new CancellationTokenSource();
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/chat/completions")
        {
            Content = new StringContent($$"""{"model":"tiny-dbrx","messages":{{Hello}},"max_tokens":1500,"temperature":0,"stream":true}""", Encoding.UTF8, "application/json"),
        };
        using HttpResponseMessage stream = await busy.Http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, holding.Token);
        using var reader = new StreamReader(await stream.Content.ReadAsStreamAsync(holding.Token));
        Assert.StartsWith("data: {", await reader.ReadLineAsync(holding.Token));
        Assert.Equal(1, await busy.MetricAsync("dbrx_server_running_requests"));

        using HttpResponseMessage refused = await busy.Http.PostAsync("/v1/chat/completions", new StringContent($$"""{"model":"tiny-dbrx","messages":{{Hello}},"max_tokens":2}""", Encoding.UTF8, "application/json"), Cancellation);
        JsonElement error = await BadInputTests.ExpectError(refused, HttpStatusCode.TooManyRequests);
        Assert.Equal("rate_limit_exceeded", error.GetProperty("code").GetString());
        Assert.Equal(TimeSpan.FromSeconds(1), refused.Headers.RetryAfter?.Delta);
        Assert.Equal(1, await busy.MetricAsync("dbrx_server_requests_total", "outcome=\"busy\""));

        // The client goes away mid-answer: its row is free within a few decode steps, and the next request runs.
        holding.Cancel();
        stream.Dispose();
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        while (await busy.MetricAsync("dbrx_server_running_requests") > 0)
            await Task.Delay(10, deadline.Token);
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
    public async Task SixtyFourStreamingClientsForAMinuteWithAQuarterDisconnectingGetTheirSoloAnswers()
    {
        await using DbrxTestServer server = await DbrxTestServer.StartAsync(model, client => client.MaxQueuedRequests = 256);
        string[] prompts = ["Hello", "What is DBRX?", "Name three rivers.", "Write a haiku about rain.", "2 + 2 = ?", "Translate 'cat' to French.", "Tell me a joke.", "Why is the sky blue?"];
        // Long enough that most disconnects come while the answer is still being generated.
        const int maxTokens = 32;
        var solo = new Dictionary<string, string>();
        foreach (string prompt in prompts)
        {
            Streamed alone = await StreamAsync(server.Http, prompt, maxTokens, null, new Random(0));
            Assert.True(alone.Completed);
            solo[prompt] = alone.Text;
        }

        var clock = Stopwatch.StartNew();
        TimeSpan duration = TimeSpan.FromSeconds(60);
        int completed = 0, disconnected = 0;
        var mismatches = new ConcurrentQueue<string>();
        await Task.WhenAll(Enumerable.Range(0, 64).Select(client => Task.Run(async () =>
        {
            var random = new Random(client);
            while (clock.Elapsed < duration)
            {
                string prompt = prompts[random.Next(prompts.Length)];
                int? disconnectAfter = random.Next(4) == 0 ? random.Next(0, 20) : null;
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
        TimeSpan elapsed = clock.Elapsed;

        TestContext.Current.SendDiagnosticMessage($"64 clients for {elapsed.TotalSeconds:F0} s: {completed} completed, {disconnected} disconnected; server outcomes ok {await server.MetricAsync("dbrx_server_requests_total", "outcome=\"ok\"")}, cancelled {await server.MetricAsync("dbrx_server_requests_total", "outcome=\"cancelled\"")}");
        Assert.Empty(mismatches);
        Assert.True(completed >= 200, $"only {completed} answers completed in {elapsed}");
        Assert.True(disconnected >= (completed + disconnected) / 8, $"{disconnected} of {completed + disconnected} disconnected");
        // Nothing left running or waiting (a cancelled request's row is freed at the worker's next step).
        using (var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(10)))
        {
            while (await server.MetricAsync("dbrx_server_running_requests") + await server.MetricAsync("dbrx_server_queue_length") > 0)
                await Task.Delay(20, deadline.Token);
        }
        Assert.True(await server.MetricAsync("dbrx_server_requests_total", "outcome=\"cancelled\"") > 0);
        Assert.Equal(0, await server.MetricAsync("dbrx_server_requests_total", "outcome=\"error\""));
        Assert.Equal(0, await server.MetricAsync("dbrx_server_requests_total", "outcome=\"busy\""));
        // And a new request is served, with its solo answer.
        Streamed after = await StreamAsync(server.Http, prompts[2], maxTokens, null, new Random(0));
        Assert.Equal(solo[prompts[2]], after.Text);
    }

    [Fact]
    public async Task TheServerProcessMemoryStaysFlatOver2000Requests()
    {
        // Short requests, so 2,000 pass in reasonable time on a shared 2-core machine: no system prompt, one token each.
        using ServeProcess serve = await ServeProcess.StartAsync("--model", model.Directory, "--device", "cpu", "--max-batch-size", "8", "--context-length", "2048", "--system-prompt", "");
        // More clients than batch rows, so every step runs full.
        const int total = 2000, concurrency = 16, sampleEvery = 100;
        var samples = new List<(int Requests, long Bytes)>();
        int next = 0;
        var words = new[] { "river", "cloud", "engine", "violin", "harbour", "lantern", "meadow", "quartz" };
        async Task Client(int id)
        {
            var random = new Random(id);
            while (Interlocked.Increment(ref next) is var n && n <= total)
            {
                string prompt = string.Join(' ', Enumerable.Range(0, random.Next(1, 40)).Select(_ => words[random.Next(words.Length)]));
                bool stream = n % 4 == 0;
                using HttpResponseMessage response = await serve.Http.PostAsync("/v1/chat/completions", new StringContent(JsonSerializer.Serialize(new
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
                if (n % sampleEvery == 0)
                {
                    lock (samples)
                        samples.Add((n, serve.ResidentBytes()));
                }
            }
        }
        await Task.WhenAll(Enumerable.Range(0, concurrency).Select(Client));

        samples.Sort();
        Assert.Equal(total / sampleEvery, samples.Count);
        string trace = string.Join(", ", samples.Select(s => (s.Bytes / 1048576.0).ToString("F1", System.Globalization.CultureInfo.InvariantCulture)));
        TestContext.Current.SendDiagnosticMessage($"server RSS (MiB) every {sampleEvery} requests: {trace}");
        // After 500 requests of warm-up (allocator arenas, JIT, pools, caches filled), the last samples may not exceed
        // those right after it by more than 16 MiB: a leak of 11 KiB or more per request over the 1,500 measured ones
        // fails (a float32 logits row of this vocabulary is 392 KiB; the run to run spread here is about 5 MiB).
        double warm = samples.Where(s => s.Requests is > 500 and <= 800).Average(s => s.Bytes);
        double end = samples.TakeLast(3).Average(s => s.Bytes);
        Assert.True(end - warm <= 16 * 1048576.0, $"server RSS grew {(end - warm) / 1048576.0:F1} MiB after warm-up: {trace}");
    }
}
