using System.Diagnostics.Metrics;
using Dbrx.ConstrainedDecoding;
using Microsoft.Extensions.AI;

namespace Dbrx.Server;

/// <summary>
/// The server's instruments, on the meter <see cref="MeterName"/> (exported at <c>/metrics</c> in Prometheus format
/// through OpenTelemetry): chat completion requests by outcome, prompt, cached and generated tokens, the queue length
/// and running requests of the engine, histograms of the time to the first token and per output token, and what the
/// JSON-schema cache (see <c>JsonConstraintCompiler</c>) holds and does.
/// </summary>
internal sealed class DbrxServerMetrics
{
    /// <summary>The meter's name, for <c>AddMeter</c>.</summary>
    public const string MeterName = "Dbrx.Server";

    private readonly Counter<long> requests;
    private readonly Counter<long> promptTokens;
    private readonly Counter<long> cachedPromptTokens;
    private readonly Counter<long> generatedTokens;
    private readonly Histogram<double> timeToFirstToken;
    private readonly Histogram<double> timePerOutputToken;

    public DbrxServerMetrics(IMeterFactory meters, ModelReadiness readiness, IChatClient client)
    {
        Meter meter = meters.Create(MeterName);
        requests = meter.CreateCounter<long>("dbrx.server.requests", "{request}", "Chat completion requests by outcome (ok, cancelled, bad_request, not_found, too_large, busy, unavailable, error), and requests refused for their API key (unauthorized).");
        promptTokens = meter.CreateCounter<long>("dbrx.server.prompt_tokens", "{token}", "Prompt tokens of answered requests.");
        cachedPromptTokens = meter.CreateCounter<long>("dbrx.server.cached_prompt_tokens", "{token}", "Prompt tokens taken from an earlier request's cache instead of prefilled.");
        generatedTokens = meter.CreateCounter<long>("dbrx.server.generated_tokens", "{token}", "Tokens generated for answered requests.");
        timeToFirstToken = meter.CreateHistogram("dbrx.server.time_to_first_token", "s", "From a request's arrival to its first update from the model (for a tool call, the whole call).",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60] });
        timePerOutputToken = meter.CreateHistogram("dbrx.server.time_per_output_token", "s", "Per answered request: the time after its first token divided by the tokens after the first.",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5] });
        meter.CreateObservableGauge("dbrx.server.queue_length", () => readiness.Generator?.WaitingRequests ?? 0, "{request}", "Requests waiting for a batch row.");
        meter.CreateObservableGauge("dbrx.server.running_requests", () => readiness.Generator?.RunningRequests ?? 0, "{request}", "Batch rows in use (running requests and the prompt being prefilled).");
        if (client.GetService<JsonConstraintCompiler>() is { } json)
        {
            meter.CreateObservableCounter("dbrx.json_cache.hits", () => json.Statistics.Hits, "{lookup}", "Compiled schemas, pattern and number automata and key literals found in the JSON-schema cache.");
            meter.CreateObservableCounter("dbrx.json_cache.misses", () => json.Statistics.Misses, "{lookup}", "Lookups in the JSON-schema cache that had to compile what they asked for.");
            meter.CreateObservableCounter("dbrx.json_cache.evictions", () => json.Statistics.Evictions, "{entry}", "Entries dropped from the JSON-schema cache to stay within its budget (JsonCacheBytes).");
            meter.CreateObservableGauge("dbrx.json_cache.size", () => json.Statistics.Bytes, "By", "Memory the JSON-schema cache holds (an estimate): compiled schemas with their states and token masks, automata.");
        }
    }

    /// <summary>Starts measuring one chat completion request.</summary>
    public RequestObservation Observe() => new(this);

    /// <summary>Counts a request that ended with <paramref name="outcome"/>.</summary>
    public void Ended(string outcome) => requests.Add(1, new KeyValuePair<string, object?>("outcome", outcome));

    internal void FirstToken(TimeSpan elapsed) => timeToFirstToken.Record(elapsed.TotalSeconds);

    internal void Answered(UsageDetails usage, TimeSpan? perOutputToken)
    {
        promptTokens.Add(usage.InputTokenCount ?? 0);
        cachedPromptTokens.Add(usage.CachedInputTokenCount ?? 0);
        generatedTokens.Add(usage.OutputTokenCount ?? 0);
        if (perOutputToken is { } time)
            timePerOutputToken.Record(time.TotalSeconds);
    }
}
