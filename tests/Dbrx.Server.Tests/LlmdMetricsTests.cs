using System.Globalization;
using System.Text.RegularExpressions;
using Dbrx.Inference.Generation;

namespace Dbrx.Server.Tests;

/// <summary>
/// The metrics llm-d's endpoint picker reads (the model server protocol), on <c>/metrics</c> with the protocol's types:
/// the queue and running gauges, KV-cache usage 0..1, the cache-config info gauge, prefix-cache counters and the time to
/// first token histogram.
/// </summary>
[Collection("Server")]
public sealed partial class LlmdMetricsTests(ServerFixture fixture)
{
    private readonly DbrxTestServer server = fixture.Server;
    private static CancellationToken Cancellation => TestContext.Current.CancellationToken;

    [Fact]
    public async Task TheCacheConfigInfoGaugeCarriesTheBlockSizeAndCount()
    {
        string text = await server.Http.GetStringAsync("/metrics", Cancellation);
        Assert.Contains("# TYPE dbrx_engine_cache_config_info gauge", text, StringComparison.Ordinal);
        Match info = Assert.Single(InfoLine().Matches(text));
        Assert.Equal("1", info.Groups["value"].Value);
        Dictionary<string, string> labels = Label().Matches(info.Groups["labels"].Value).ToDictionary(m => m.Groups[1].Value, m => m.Groups[2].Value);
        DbrxEngineStatistics engine = server.Dbrx.EngineStatistics;
        Assert.Equal(engine.PrefixBlockTokens.ToString(CultureInfo.InvariantCulture), labels["block_size"]);
        Assert.Equal(new DbrxGeneratorOptions().PrefixBlockTokens, engine.PrefixBlockTokens);
        Assert.Equal(engine.PrefixCacheCapacity.ToString(CultureInfo.InvariantCulture), labels["num_gpu_blocks"]);
        Assert.True(engine.PrefixCacheCapacity > 0);
        Assert.Equal("0", labels["num_cpu_blocks"]);
    }

    [Fact]
    public async Task TheProtocolsMetricsHaveItsTypes()
    {
        // A histogram is exported once it has a measurement.
        using HttpResponseMessage answered = await server.Http.PostAsync("/v1/chat/completions", new StringContent("""{"model":"tiny-dbrx","messages":[{"role":"user","content":"Hi"}],"max_tokens":2}""", System.Text.Encoding.UTF8, "application/json"), Cancellation);
        answered.EnsureSuccessStatusCode();
        string text = await server.Http.GetStringAsync("/metrics", Cancellation);
        foreach (var (name, type) in (ReadOnlySpan<(string, string)>)[
            ("dbrx_engine_waiting_requests", "gauge"),
            ("dbrx_engine_running_requests", "gauge"),
            ("dbrx_engine_kv_cache_usage", "gauge"),
            ("dbrx_engine_cache_config_info", "gauge"),
            ("dbrx_engine_prefix_cache_queries_total", "counter"),
            ("dbrx_engine_prefix_cache_hits_total", "counter"),
            ("dbrx_server_time_to_first_token_seconds", "histogram")])
            Assert.Contains($"# TYPE {name} {type}\n", text, StringComparison.Ordinal);
        double usage = await server.MetricAsync("dbrx_engine_kv_cache_usage");
        Assert.InRange(usage, 0, 1);
    }

    [GeneratedRegex(@"^dbrx_engine_cache_config_info\{(?<labels>[^}]*)\} (?<value>\S+)", RegexOptions.Multiline)]
    private static partial Regex InfoLine();

    [GeneratedRegex("(\\w+)=\"([^\"]*)\"")]
    private static partial Regex Label();
}
