using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Dbrx.Extensions.AI;
using Dbrx.Gateway;
using Dbrx.Inference.Generation;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using AIChatMessage = Microsoft.Extensions.AI.ChatMessage;
using AIChatRole = Microsoft.Extensions.AI.ChatRole;

namespace Dbrx.Cli.Bench;

/// <summary>One policy's replay through the gateway.</summary>
internal sealed record GatewayRun(string Policy, long CachedTokens, long IdealCachedTokens, (double P50, double P90) TtftMs, double TokensPerSecond, int[] RequestsPerReplica, int Ok, int FailedBeforeStreaming, int StreamErrors, int StreamsCut, int Hung, bool KilledReplicaRejoined, (long Start, long End) HeapBytes)
{
    public double HitRatioOfIdeal => IdealCachedTokens == 0 ? 1 : (double)CachedTokens / IdealCachedTokens;
}

/// <summary>
/// <c>dbrx bench --gateway</c>: the session replay (many conversations sharing a long system turn, follow-ups after a
/// think time) sent as streamed chat completions through an in-process gateway to three <c>dbrx serve</c> child
/// processes, once per policy with fresh replicas: prefix-aware, RoundRobin, LeastRequests. The hit ratio is the
/// replicas' own prefix-cache hits (their <c>/metrics</c>) against a single engine with an unlimited cache (every
/// prompt's longest prefix already sent, from the prompts' token ids). With faults, the prefix-aware run kills one
/// replica hard (SIGKILL) a third of the way in and starts it again three seconds later.
/// </summary>
internal sealed class GatewayBenchmark(string modelPath, SessionWorkload workload, Action<string> log)
{
    private const int Replicas = 3;
    private static readonly TimeSpan HangGuard = TimeSpan.FromMinutes(2);

    public async Task<GatewayRun> RunAsync(DbrxGatewayPolicy policy, bool faults, CancellationToken cancellationToken)
    {
        using var http = new HttpClient { Timeout = HangGuard };
        ReplicaProcess[] replicas = [.. Enumerable.Range(0, Replicas).Select(_ => new ReplicaProcess(modelPath))];
        try
        {
            await Task.WhenAll(replicas.Select(r => r.StartAsync(http, cancellationToken)));
            var builder = WebApplication.CreateSlimBuilder();
            builder.WebHost.UseUrls("http://127.0.0.1:0");
            builder.Logging.SetMinimumLevel(LogLevel.Critical);
            builder.Services.AddDbrxGateway(options =>
            {
                options.Replicas = [.. replicas.Select(r => r.Url)];
                options.Policy = policy;
                options.ModelPath = modelPath;
                options.HealthCheckInterval = TimeSpan.FromMilliseconds(500);
            });
            await using WebApplication gateway = builder.Build();
            gateway.MapDbrxGateway();
            await gateway.StartAsync(cancellationToken);
            var replay = new Replay(new Uri(gateway.Urls.Single() + "/v1/chat/completions"), http, modelPath, workload);
            // The gateway runs in this process: its managed heap (with the replay's client) after a full collection,
            // before the replay and after it, shows whether routing state grows with requests.
            long heapStart = GC.GetTotalMemory(forceFullCollection: true);
            Task killer = faults ? KillAndRestartAsync(replicas[0], replay, http, cancellationToken) : Task.CompletedTask;
            var clock = Stopwatch.StartNew();
            await replay.RunAsync(cancellationToken);
            double seconds = clock.Elapsed.TotalSeconds;
            await killer;
            replay.ReleaseIdealPrefixes();
            long heapEnd = GC.GetTotalMemory(forceFullCollection: true);
            if (policy == DbrxGatewayPolicy.PrefixAware)
                await MeasureRenderingAsync(replay.LastBody, replicas[1].Url, http, cancellationToken);
            // With faults: is the restarted replica among the destinations the policy is given again? Its health probe
            // passes every 500 ms here, and YARP's passive health lets it back after its reactivation period.
            bool rejoined = !faults || await AvailableAgainAsync(gateway.Services, replicas[0].Url, cancellationToken);
            string[] metrics = await Task.WhenAll(replicas.Select(r => http.GetStringAsync(new Uri(r.Url + "/metrics"), cancellationToken)));
            int[] perReplica = [.. metrics.Select(m => (int)PrometheusText.Sum(m, "dbrx_server_requests"))];
            long cached = (long)metrics.Sum(m => PrometheusText.Sum(m, "dbrx_engine_prefix_cache_hits"));
            var ttft = replay.FirstTokenMs.Order().ToArray();
            return new GatewayRun(policy.ToString(), cached, replay.IdealCachedTokens, (Percentile(ttft, 0.5), Percentile(ttft, 0.9)), replay.GeneratedTokens / seconds, perReplica,
                replay.Ok, replay.FailedBeforeStreaming, replay.StreamErrors, replay.StreamsCut, replay.Hung, rejoined, (heapStart, heapEnd));
        }
        finally
        {
            foreach (ReplicaProcess replica in replicas)
                replica.Dispose();
        }
    }

    /// <summary>
    /// What rendering a request costs the gateway locally (the model's template and tokenizer, as it does for every
    /// request) against the least a replica's render endpoint could cost: a loopback round trip carrying the same body
    /// (to an endpoint that answers at once), before the replica renders it just the same. 50 of each, on the last body.
    /// </summary>
    private async Task MeasureRenderingAsync(string body, string replica, HttpClient http, CancellationToken cancellationToken)
    {
        using var client = new DbrxChatClient(new DbrxChatClientOptions { ModelPath = modelPath });
        byte[] bytes = Encoding.UTF8.GetBytes(body);
        Dbrx.Server.DbrxChatPromptRenderer.TryRender(bytes, client);
        var clock = Stopwatch.StartNew();
        for (int i = 0; i < 50; i++)
            Dbrx.Server.DbrxChatPromptRenderer.TryRender(bytes, client);
        double local = clock.Elapsed.TotalMilliseconds / 50;
        clock.Restart();
        for (int i = 0; i < 50; i++)
        {
            using var content = new ByteArrayContent(bytes);
            using HttpResponseMessage response = await http.PostAsync(new Uri(replica + "/v1/models"), content, cancellationToken);
        }
        double roundTrip = clock.Elapsed.TotalMilliseconds / 50;
        log($"gateway: rendering a {bytes.Length}-byte request locally: {local:F2} ms; a loopback round trip carrying it: {roundTrip:F2} ms (a render endpoint costs at least that plus the same rendering)");
    }

    /// <summary>Waits up to 30 s for the gateway to count <paramref name="replica"/> healthy again, actively and passively.</summary>
    private async Task<bool> AvailableAgainAsync(IServiceProvider gateway, string replica, CancellationToken cancellationToken)
    {
        var state = gateway.GetRequiredService<Yarp.ReverseProxy.IProxyStateLookup>();
        for (int i = 0; i < 300; i++)
        {
            if (state.TryGetCluster("dbrx-replicas", out var cluster) && cluster.Destinations.TryGetValue(replica, out var destination)
                && destination.Health.Active == Yarp.ReverseProxy.Model.DestinationHealth.Healthy && destination.Health.Passive != Yarp.ReverseProxy.Model.DestinationHealth.Unhealthy)
                return true;
            await Task.Delay(100, cancellationToken);
        }
        if (state.TryGetCluster("dbrx-replicas", out var stuck) && stuck.Destinations.TryGetValue(replica, out var health))
            log($"gateway: {replica} still not available after 30 s: active health {health.Health.Active}, passive {health.Health.Passive}");
        return false;
    }

    /// <summary>Kills <paramref name="replica"/> once a third of the requests are out, and starts it again 3 s later.</summary>
    private async Task KillAndRestartAsync(ReplicaProcess replica, Replay replay, HttpClient http, CancellationToken cancellationToken)
    {
        int total = workload.Sessions * workload.Turns;
        while (replay.Issued < total / 3)
            await Task.Delay(50, cancellationToken);
        log($"gateway: killing the replica on port {replica.Port} (SIGKILL) with {replay.Issued} of {total} requests out");
        replica.Kill();
        await Task.Delay(TimeSpan.FromSeconds(12), cancellationToken);
        await replica.StartAsync(http, cancellationToken);
        log($"gateway: the replica on port {replica.Port} is ready again");
    }

    private static double Percentile(double[] sorted, double p) => sorted.Length == 0 ? double.NaN : sorted[Math.Min(sorted.Length - 1, (int)Math.Ceiling(p * sorted.Length) - 1)];

    /// <summary>The sessions, each turn a streamed request; what each request saw.</summary>
    private sealed class Replay(Uri endpoint, HttpClient http, string modelPath, SessionWorkload workload)
    {
        private readonly DbrxChatClient renderer = new(new DbrxChatClientOptions { ModelPath = modelPath });
        private HashSet<ulong> seenPrefixes = [];
        private readonly Lock sync = new();
        private int issued, ok, failedBeforeStreaming, streamErrors, streamsCut, hung;
        private long generated, ideal;

        public List<double> FirstTokenMs { get; } = [];

        public int Issued => Volatile.Read(ref issued);

        public int Ok => ok;

        public int FailedBeforeStreaming => failedBeforeStreaming;

        public int StreamErrors => streamErrors;

        public int StreamsCut => streamsCut;

        public int Hung => hung;

        public long GeneratedTokens => generated;

        public long IdealCachedTokens => ideal;

        /// <summary>Lets go of the prefixes the ideal was counted with (one per token seen), so the heap measured after the replay is the gateway's.</summary>
        public void ReleaseIdealPrefixes()
        {
            lock (sync)
                seenPrefixes = [];
        }

        /// <summary>The body of the last request sent.</summary>
        public string LastBody { get; private set; } = "";

        public Task RunAsync(CancellationToken cancellationToken)
        {
            var random = new Random(workload.Seed);
            string system = Words(random, workload.SystemTokens);
            return Task.WhenAll(Enumerable.Range(0, workload.Sessions).Select(s => SessionAsync(system, new Random(workload.Seed * 1000 + s), cancellationToken)));
        }

        private async Task SessionAsync(string system, Random random, CancellationToken cancellationToken)
        {
            var messages = new List<(string Role, string Content)> { ("system", system) };
            for (int turn = 0; turn < workload.Turns; turn++)
            {
                messages.Add(("user", Words(random, random.Next(workload.UserMin, workload.UserMax + 1))));
                CountIdeal(messages);
                Interlocked.Increment(ref issued);
                string answer = await TurnAsync(messages, cancellationToken);
                messages.Add(("assistant", answer));
                await Task.Delay(TimeSpan.FromMilliseconds(random.NextDouble() * workload.MaxThink.TotalMilliseconds), cancellationToken);
            }
        }

        /// <summary>What a single engine with an unlimited cache would reuse: the longest prefix of an earlier prompt (all but the last token).</summary>
        private void CountIdeal(List<(string Role, string Content)> messages)
        {
            int[] tokens = renderer.RenderPrompt([.. messages.Select(m => new AIChatMessage(new AIChatRole(m.Role), m.Content))]);
            ulong[] prefixes = DbrxPrefixBlockHash.Chain(tokens, 1);
            lock (sync)
            {
                int run = 0;
                while (run < prefixes.Length && seenPrefixes.Contains(prefixes[run]))
                    run++;
                ideal += Math.Min(run, tokens.Length - 1);
                seenPrefixes.UnionWith(prefixes);
            }
        }

        private async Task<string> TurnAsync(List<(string Role, string Content)> messages, CancellationToken cancellationToken)
        {
            var body = new JsonObject
            {
                ["model"] = Path.GetFileName(Path.TrimEndingDirectorySeparator(Path.GetFullPath(modelPath))),
                ["stream"] = true,
                ["stream_options"] = new JsonObject { ["include_usage"] = true },
                ["max_tokens"] = 16,
                ["temperature"] = 0,
                ["messages"] = new JsonArray([.. messages.Select(m => (JsonNode)new JsonObject { ["role"] = m.Role, ["content"] = m.Content })]),
            };
            LastBody = body.ToJsonString();
            var clock = Stopwatch.StartNew();
            bool started = false;
            var answer = new StringBuilder();
            using var guard = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            guard.CancelAfter(HangGuard);
            try
            {
                using var request = new HttpRequestMessage(HttpMethod.Post, endpoint) { Content = new StringContent(LastBody, Encoding.UTF8, "application/json") };
                using HttpResponseMessage response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, guard.Token);
                if (!response.IsSuccessStatusCode)
                {
                    if (Interlocked.Increment(ref failedBeforeStreaming) == 1)
                        Console.Error.WriteLine($"gateway: first refusal: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync(guard.Token)}");
                    return "";
                }
                using var reader = new StreamReader(await response.Content.ReadAsStreamAsync(guard.Token));
                bool done = false;
                while (await reader.ReadLineAsync(guard.Token) is { } line)
                {
                    done |= line == "data: [DONE]";
                    if (!line.StartsWith("data: {", StringComparison.Ordinal))
                        continue;
                    using JsonDocument chunk = JsonDocument.Parse(line["data: ".Length..]);
                    if (chunk.RootElement.TryGetProperty("error", out _))
                    {
                        Interlocked.Increment(ref streamErrors);
                        return answer.ToString();
                    }
                    if (chunk.RootElement.TryGetProperty("usage", out JsonElement usage) && usage.ValueKind == JsonValueKind.Object)
                        Interlocked.Add(ref generated, usage.GetProperty("completion_tokens").GetInt64());
                    if (chunk.RootElement.TryGetProperty("choices", out JsonElement choices) && choices.GetArrayLength() > 0
                        && choices[0].GetProperty("delta").TryGetProperty("content", out JsonElement content) && content.GetString() is { Length: > 0 } text)
                    {
                        if (!started)
                        {
                            started = true;
                            lock (sync)
                                FirstTokenMs.Add(clock.Elapsed.TotalMilliseconds);
                        }
                        answer.Append(text);
                    }
                }
                // A stream that ends without [DONE] or an error event was cut.
                Interlocked.Increment(ref done ? ref ok : ref streamsCut);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                Interlocked.Increment(ref hung);
            }
            catch (Exception e) when (e is HttpRequestException or IOException)
            {
                Interlocked.Increment(ref started ? ref streamsCut : ref failedBeforeStreaming);
            }
            return answer.ToString();
        }

        private static string Words(Random random, int count) =>
            string.Join(' ', Enumerable.Range(0, count).Select(_ => "w" + random.Next(1000).ToString(CultureInfo.InvariantCulture)));
    }
}
