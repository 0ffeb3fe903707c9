using System.Globalization;
using System.Text.Json.Nodes;

namespace Dbrx.Cli.Bench;

/// <summary>
/// This engine's figures against another implementation's on the same configuration (the JSON that
/// <c>scripts/transformers_bench.py</c> prints): speed-ups above 1 mean this engine is faster.
/// </summary>
internal sealed record BenchComparison
{
    public required string Reference { get; init; }
    public required Dictionary<int, double> PrefillSpeedup { get; init; }
    public required double? DecodeBatch1Speedup { get; init; }
    public required Dictionary<int, double> BatchDecodeSpeedup { get; init; }

    /// <summary>Reads another run's JSON up front, so a bad file fails before the benchmark spends its minutes.</summary>
    /// <exception cref="InvalidDataException">The file is not such a JSON object.</exception>
    public static JsonObject ReadReference(string path)
    {
        try
        {
            if (JsonNode.Parse(File.ReadAllText(path)) is JsonObject reference && reference["prefill_tokens_per_s"] is JsonObject)
                return reference;
        }
        catch (System.Text.Json.JsonException e)
        {
            throw new InvalidDataException($"--compare '{path}' is not valid JSON: {e.Message}", e);
        }
        throw new InvalidDataException($"--compare '{path}' is not a JSON object with prefill_tokens_per_s, as scripts/transformers_bench.py prints.");
    }

    /// <summary>Divides: tokens/s by the reference's tokens/s, and the reference's ms/token by ours.</summary>
    public static BenchComparison Compare(JsonObject reference, string name, BenchReport ours)
    {
        Dictionary<int, double> Ratios(string key, Dictionary<int, double> mine) =>
            (reference[key] as JsonObject ?? [])
                .Where(p => int.TryParse(p.Key, NumberStyles.Integer, CultureInfo.InvariantCulture, out int n) && mine.ContainsKey(n) && p.Value is not null && p.Value.GetValue<double>() > 0)
                .ToDictionary(p => int.Parse(p.Key, CultureInfo.InvariantCulture), p => mine[int.Parse(p.Key, CultureInfo.InvariantCulture)] / p.Value!.GetValue<double>());
        double? theirDecode = reference["decode_batch1_ms_per_token"]?.GetValue<double>();
        return new BenchComparison
        {
            Reference = reference["implementation"]?.GetValue<string>() ?? name,
            PrefillSpeedup = Ratios("prefill_tokens_per_s", ours.PrefillTokensPerSecond),
            DecodeBatch1Speedup = theirDecode > 0 ? theirDecode / ours.DecodeMillisecondsPerToken : null,
            BatchDecodeSpeedup = Ratios("decode_tokens_per_s", ours.BatchDecodeTokensPerSecond),
        };
    }
}
