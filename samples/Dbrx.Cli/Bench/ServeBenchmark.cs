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

/// <summary>A level measured in-process and over HTTP.</summary>
internal sealed record ServeComparison(int Concurrency, int Requests, ServeMeasurement InProcess, ServeMeasurement Http)
{
    /// <summary>HTTP tokens/s over in-process tokens/s: 1 is no overhead.</summary>
    public double ThroughputRatio => Http.TokensPerSecond / InProcess.TokensPerSecond;
}

/// <summary>
/// The HTTP server's overhead: the same workload (greedy chat requests, streamed) at each concurrency, through the
/// chat client in-process and through <c>/v1/chat/completions</c> of a Kestrel server on loopback over the same client,
/// in one run. Tokens/s and the time to the first token, from the caller's side.
/// </summary>
internal sealed class ServeBenchmark(IChatClient client, Action<string> log)
{
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

        // Warm-up: JIT, the server's first request, the prompts' shared prefix in the cache.
        await InProcessAsync(Prompt(0), maxTokens, cancellationToken);
        await HttpAsync(http, model, Prompt(0), maxTokens, cancellationToken);

        var results = new List<ServeComparison>();
        foreach (int concurrency in concurrencies)
        {
            int requests = Math.Max(8, 2 * concurrency);
            ServeMeasurement inProcess = await MeasureAsync(concurrency, requests, i => InProcessAsync(Prompt(i), maxTokens, cancellationToken));
            ServeMeasurement overHttp = await MeasureAsync(concurrency, requests, i => HttpAsync(http, model, Prompt(i), maxTokens, cancellationToken));
            var comparison = new ServeComparison(concurrency, requests, inProcess, overHttp);
            log($"concurrency {concurrency}: in-process {inProcess.TokensPerSecond:F0} tokens/s, HTTP {overHttp.TokensPerSecond:F0} tokens/s ({comparison.ThroughputRatio:P0})");
            results.Add(comparison);
        }
        await app.StopAsync(cancellationToken);
        return results;
    }

    /// <summary>Distinct short questions: each request prefills its own text after the shared system prompt.</summary>
    private static string Prompt(int i) => $"Question {i}: what is {i} plus {i * 7 % 13}? Answer briefly.";

    /// <summary>Runs <paramref name="requests"/> requests, <paramref name="concurrency"/> at a time: (time to first text, tokens) each.</summary>
    private static async Task<ServeMeasurement> MeasureAsync(int concurrency, int requests, Func<int, Task<(TimeSpan FirstToken, long Tokens)>> send)
    {
        var results = new (TimeSpan FirstToken, long Tokens)[requests];
        int next = -1;
        long start = Stopwatch.GetTimestamp();
        await Task.WhenAll(Enumerable.Range(0, concurrency).Select(async _ =>
        {
            while (Interlocked.Increment(ref next) is var i && i < requests)
                results[i] = await send(i);
        }));
        TimeSpan wall = Stopwatch.GetElapsedTime(start);
        TimeSpan[] firsts = [.. results.Select(r => r.FirstToken).Order()];
        return new ServeMeasurement(results.Sum(r => r.Tokens) / wall.TotalSeconds, Percentile(firsts, 0.50), Percentile(firsts, 0.99));
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
