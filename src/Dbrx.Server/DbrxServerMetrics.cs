using System.Diagnostics.Metrics;
using Microsoft.Extensions.AI;

namespace Dbrx.Server;

/// <summary>
/// The server's instruments, on the meter <see cref="DbrxServerTelemetry.MeterName"/>: model requests (chat and text completions, responses) by
/// outcome, prompt, cached and generated tokens, and histograms of the time to the first token and per output token.
/// The engine's queue and batch figures and the JSON-schema cache's are on the chat client's meters.
/// </summary>
internal sealed class DbrxServerMetrics
{
    private readonly Counter<long> requests;
    private readonly Counter<long> promptTokens;
    private readonly Counter<long> cachedPromptTokens;
    private readonly Counter<long> generatedTokens;
    private readonly Histogram<double> timeToFirstToken;
    private readonly Histogram<double> timePerOutputToken;

    public DbrxServerMetrics(IMeterFactory meters)
    {
        Meter meter = meters.Create(DbrxServerTelemetry.MeterName);
        requests = meter.CreateCounter<long>("dbrx.server.requests", "{request}", "Chat completion, text completion and Responses API requests by outcome (ok, cancelled, bad_request, not_found, too_large, busy, unavailable, error), and requests refused for their API key (unauthorized).");
        promptTokens = meter.CreateCounter<long>("dbrx.server.prompt_tokens", "{token}", "Prompt tokens of answered requests.");
        cachedPromptTokens = meter.CreateCounter<long>("dbrx.server.cached_prompt_tokens", "{token}", "Prompt tokens taken from an earlier request's cache instead of prefilled.");
        generatedTokens = meter.CreateCounter<long>("dbrx.server.generated_tokens", "{token}", "Tokens generated for answered requests.");
        timeToFirstToken = meter.CreateHistogram("dbrx.server.time_to_first_token", "s", "From a request's arrival to its first update from the model (for a tool call, the whole call).",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60] });
        timePerOutputToken = meter.CreateHistogram("dbrx.server.time_per_output_token", "s", "Per answered request: the time after its first token divided by the tokens after the first.",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5] });
    }

    /// <summary>Starts measuring one model request.</summary>
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
