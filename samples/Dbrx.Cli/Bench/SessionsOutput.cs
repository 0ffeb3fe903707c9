using System.Text.Json.Nodes;
using Dbrx.Inference.Configuration;
using Dbrx.Inference.Modeling;
using Dbrx.Inference.Runtime;

namespace Dbrx.Cli.Bench;

/// <summary><c>dbrx bench --sessions</c>'s report: a table, or one JSON object.</summary>
internal static class SessionsOutput
{
    public static string Table(List<SessionsRun> runs, SamplingRun sampling, SessionWorkload workload, DbrxForCausalLM model)
    {
        SessionsRun kept = runs[0];
        var lines = new List<string>
        {
            $"model        d_model {model.Config.DModel}, {model.Config.NLayers} blocks, {DbrxDevices.DTypeName(model.DType)} on {model.Device}",
            $"workload     {workload.Sessions} sessions x {workload.Turns} turns, system turn {workload.SystemTokens} tokens, user {workload.UserMin}-{workload.UserMax}, answers {workload.AnswerMin}-{workload.AnswerMax} (greedy), think up to {workload.MaxThink.TotalMilliseconds:F0} ms, seed {workload.Seed}",
            "configuration                                   cached/ideal  first-turn TTFT p50/p90 ms  follow-up TTFT p50/p90 ms  (vs kept rows)   tokens/s  peak RSS  blocks dev/host",
        };
        foreach (SessionsRun r in runs)
        {
            double speedUp = kept.FollowUps.P50.TotalMilliseconds / Math.Max(1e-9, r.FollowUps.P50.TotalMilliseconds);
            lines.Add($"{r.Name,-46}  {r.HitRatioOfIdeal,12:P1}  {r.FirstTurn.P50.TotalMilliseconds,11:F0} / {r.FirstTurn.P90.TotalMilliseconds,-11:F0}  {r.FollowUps.P50.TotalMilliseconds,10:F0} / {r.FollowUps.P90.TotalMilliseconds,-10:F0}  {speedUp,8:F2}x  {r.TokensPerSecond,9:F1}  {ByteSize.Format(r.PeakResidentBytes),8}  {r.PrefixBlocks.Device}/{r.PrefixBlocks.Host}");
        }
        lines.Add($"sampling     batch {sampling.Batch}: greedy {sampling.GreedyTokensPerSecond:F1} tokens/s, default sampling (temperature 0.7, top-k 50, top-p 0.95) {sampling.SampledTokensPerSecond:F1} tokens/s: {sampling.Ratio:F3} of greedy");
        return string.Join('\n', lines);
    }

    public static string Json(List<SessionsRun> runs, SamplingRun sampling, SessionWorkload workload, DbrxForCausalLM model)
    {
        static JsonObject Percentiles((TimeSpan P50, TimeSpan P90) p) => new() { ["p50_ms"] = p.P50.TotalMilliseconds, ["p90_ms"] = p.P90.TotalMilliseconds };
        var array = new JsonArray();
        foreach (SessionsRun r in runs)
        {
            array.Add(new JsonObject
            {
                ["name"] = r.Name,
                ["prompt_tokens"] = r.PromptTokens,
                ["cached_tokens"] = r.CachedTokens,
                ["ideal_cached_tokens"] = r.IdealCachedTokens,
                ["hit_ratio_of_ideal"] = r.HitRatioOfIdeal,
                ["first_turn_ttft"] = Percentiles(r.FirstTurn),
                ["follow_up_ttft"] = Percentiles(r.FollowUps),
                ["follow_up_ttft_p50_speedup_over_kept_rows"] = runs[0].FollowUps.P50.TotalMilliseconds / Math.Max(1e-9, r.FollowUps.P50.TotalMilliseconds),
                ["tokens_per_s"] = r.TokensPerSecond,
                ["peak_resident_bytes"] = r.PeakResidentBytes,
                ["prefix_blocks"] = new JsonObject { ["device"] = r.PrefixBlocks.Device, ["host"] = r.PrefixBlocks.Host },
            });
        }
        return CliJson.Format(new JsonObject
        {
            ["device"] = model.Device.ToString(),
            ["dtype"] = DbrxDevices.DTypeName(model.DType),
            ["config"] = JsonNode.Parse(DbrxConfigJson.ToJson(model.Config)),
            ["workload"] = new JsonObject { ["sessions"] = workload.Sessions, ["turns"] = workload.Turns, ["system_tokens"] = workload.SystemTokens, ["seed"] = workload.Seed },
            ["runs"] = array,
            ["sampling"] = new JsonObject { ["batch"] = sampling.Batch, ["greedy_tokens_per_s"] = sampling.GreedyTokensPerSecond, ["sampled_tokens_per_s"] = sampling.SampledTokensPerSecond, ["sampled_over_greedy"] = sampling.Ratio },
        });
    }
}
