using System.Diagnostics;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Dbrx.Cli.Bench;

/// <summary>One concurrency level of <c>dbrx bench --serve</c>, through one path.</summary>
/// <param name="TokensPerSecond">Generated tokens of all requests over the wall time of the level.</param>
/// <param name="FirstTokenP50">Median time from sending a request to its first text.</param>
/// <param name="FirstTokenP99">99th percentile of the same (with few requests, their slowest).</param>
internal sealed record ServeMeasurement(double TokensPerSecond, TimeSpan FirstTokenP50, TimeSpan FirstTokenP99);

/// <summary>A level measured in-process and over HTTP, and the process's resident memory after it.</summary>
internal sealed record ServeComparison(int Concurrency, int Requests, ServeMeasurement InProcess, ServeMeasurement Http, long ResidentBytes)
{
    /// <summary>HTTP tokens/s over in-process tokens/s: 1 is no overhead.</summary>
    public double ThroughputRatio => Http.TokensPerSecond / InProcess.TokensPerSecond;
}

/// <summary>
/// The HTTP server's overhead: the same workload (greedy chat requests, streamed) at each concurrency, through the
/// chat client in-process and through <c>/v1/chat/completions</c> of a Kestrel server on loopback over the same client,
/// in one run: after an untimed round, three times in-process, HTTP, HTTP, in-process. Tokens/s and the time to the
/// first token, from the caller's side.
/// </summary>
internal sealed class ServeBenchmark(IChatClient client, Action<string> log)
{
    /// <summary>Times the A B B A sequence runs per level: a shared machine's speed swings within seconds.</summary>
    private const int Repeats = 3;

    public async Task<List<ServeComparison>> RunAsync(IReadOnlyList<int> concurrencies, int maxTokens, CancellationToken cancellationToken)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.Services.AddChatClient(client);
        builder.Services.AddDbrxOpenAI();
        await using WebApplication app = builder.Build();
        app.MapDbrxOpenAI();
        await app.StartAsync(cancellationToken);
        using var http = new HttpClient { BaseAddress = new Uri(app.Urls.Single()), Timeout = TimeSpan.FromMinutes(10) };
        string model = client.GetService<ChatClientMetadata>()?.DefaultModelId ?? "dbrx";

        // Warm-up: JIT, the server's first request, the system prompt in the cache.
        await InProcessAsync(Prompt(-1), maxTokens, cancellationToken);
        await HttpAsync(http, model, Prompt(-2), maxTokens, cancellationToken);

        var results = new List<ServeComparison>();
        foreach (int concurrency in concurrencies)
        {
            int requests = Math.Max(8, 2 * concurrency);
            int run = 0;
            // Every run asks new questions (after the same system prompt), so none finds its prompts in the cache.
            Task<Run> InProcess()
            {
                int first = requests * run++;
                return MeasureAsync(concurrency, requests, i => InProcessAsync(Prompt(first + i), maxTokens, cancellationToken));
            }
            Task<Run> OverHttp()
            {
                int first = requests * run++;
                return MeasureAsync(concurrency, requests, i => HttpAsync(http, model, Prompt(first + i), maxTokens, cancellationToken));
            }
            // Untimed first, so this batch size's first passes (allocations, kernels' first use) count for neither path;
            // then in the order A B B A, so a drift in a shared machine's speed weighs on both alike.
            await InProcess();
            var inProcess = new List<Run>();
            var overHttp = new List<Run>();
            for (int repeat = 0; repeat < Repeats; repeat++)
            {
                inProcess.Add(await InProcess());
                overHttp.Add(await OverHttp());
                overHttp.Add(await OverHttp());
                inProcess.Add(await InProcess());
            }
            // Resident memory after each level: flat from level to level when nothing a request leaves behind accumulates.
            var comparison = new ServeComparison(concurrency, inProcess.Count * requests, Combine(inProcess), Combine(overHttp), Environment.WorkingSet);
            log($"concurrency {concurrency}: in-process {comparison.InProcess.TokensPerSecond:F0} tokens/s, HTTP {comparison.Http.TokensPerSecond:F0} tokens/s ({comparison.ThroughputRatio:P0})");
            results.Add(comparison);
        }
        await app.StopAsync(cancellationToken);
        return results;
    }

    /// <summary>Distinct short questions: each request prefills its own text after the shared system prompt.</summary>
    private static string Prompt(int i) => $"Question {i}: what is {i} plus {i * 7 % 13}? Answer briefly.";

    /// <summary>One batch of requests: each one's time to first text, the tokens of all, and the wall time.</summary>
    private sealed record Run(TimeSpan[] FirstTokens, long Tokens, TimeSpan Wall);

    /// <summary>Runs <paramref name="requests"/> requests, <paramref name="concurrency"/> at a time.</summary>
    private static async Task<Run> MeasureAsync(int concurrency, int requests, Func<int, Task<(TimeSpan FirstToken, long Tokens)>> send)
    {
        var results = new (TimeSpan FirstToken, long Tokens)[requests];
        int next = -1;
        long start = Stopwatch.GetTimestamp();
        await Task.WhenAll(Enumerable.Range(0, concurrency).Select(async _ =>
        {
            while (Interlocked.Increment(ref next) is var i && i < requests)
                results[i] = await send(i);
        }));
        return new Run([.. results.Select(r => r.FirstToken)], results.Sum(r => r.Tokens), Stopwatch.GetElapsedTime(start));
    }

    /// <summary>All runs of a path together: their tokens over their summed wall time, percentiles over all requests.</summary>
    private static ServeMeasurement Combine(List<Run> runs)
    {
        TimeSpan[] firsts = [.. runs.SelectMany(r => r.FirstTokens).Order()];
        return new ServeMeasurement(runs.Sum(r => r.Tokens) / runs.Sum(r => r.Wall.TotalSeconds), Percentile(firsts, 0.50), Percentile(firsts, 0.99));
    }

    private static TimeSpan Percentile(TimeSpan[] sorted, double p) => sorted[Math.Min(sorted.Length - 1, (int)Math.Ceiling(p * sorted.Length) - 1)];

    private async Task<(TimeSpan, long)> InProcessAsync(string prompt, int maxTokens, CancellationToken cancellationToken)
    {
        long start = Stopwatch.GetTimestamp();
        TimeSpan? first = null;
        long tokens = 0;
        await foreach (ChatResponseUpdate update in client.GetStreamingResponseAsync(prompt, new ChatOptions { Temperature = 0, MaxOutputTokens = maxTokens }, cancellationToken))
        {
            if (first is null && update.Text.Length > 0)
                first = Stopwatch.GetElapsedTime(start);
            if (update.Contents.OfType<UsageContent>().FirstOrDefault() is { } usage)
                tokens = usage.Details.OutputTokenCount ?? 0;
        }
        return (first ?? Stopwatch.GetElapsedTime(start), tokens);
    }

    /// <summary>The same request as an OpenAI client sends it, streamed; the tokens from the usage chunk.</summary>
    private static async Task<(TimeSpan, long)> HttpAsync(HttpClient http, string model, string prompt, int maxTokens, CancellationToken cancellationToken)
    {
        long start = Stopwatch.GetTimestamp();
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/chat/completions")
        {
            Content = JsonContent.Create(new Dictionary<string, object>
            {
                ["model"] = model,
                ["messages"] = new[] { new Dictionary<string, string> { ["role"] = "user", ["content"] = prompt } },
                ["temperature"] = 0,
                ["max_tokens"] = maxTokens,
                ["stream"] = true,
                ["stream_options"] = new Dictionary<string, bool> { ["include_usage"] = true },
            }),
        };
        using HttpResponseMessage response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
        response.EnsureSuccessStatusCode();
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync(cancellationToken));
        TimeSpan? first = null;
        long tokens = 0;
        while (await reader.ReadLineAsync(cancellationToken) is { } line)
        {
            if (!line.StartsWith("data: {", StringComparison.Ordinal))
                continue;
            using JsonDocument chunk = JsonDocument.Parse(line.AsMemory("data: ".Length));
            if (first is null && chunk.RootElement.GetProperty("choices") is { ValueKind: JsonValueKind.Array } choices && choices.GetArrayLength() > 0
                && choices[0].GetProperty("delta").TryGetProperty("content", out JsonElement content) && content.GetString() is { Length: > 0 })
                first = Stopwatch.GetElapsedTime(start);
            if (chunk.RootElement.TryGetProperty("usage", out JsonElement usage) && usage.ValueKind == JsonValueKind.Object)
                tokens = usage.GetProperty("completion_tokens").GetInt64();
        }
        return (first ?? Stopwatch.GetElapsedTime(start), tokens);
    }
}
