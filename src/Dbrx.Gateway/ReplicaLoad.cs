namespace Dbrx.Gateway;

/// <summary>A replica's load as its last <c>/metrics</c> scrape said: requests waiting for a batch row, running, and the share of its KV cache in use (0..1).</summary>
internal sealed record ReplicaLoad(double Waiting, double Running, double KvCacheUsage);

/// <summary>
/// Reads the engine gauges out of a Prometheus text exposition. The names are the engine's meter instruments as
/// OpenTelemetry's exporter writes them (dots to underscores, a unit suffix such as <c>_ratio</c> possibly appended);
/// series of one name are summed.
/// </summary>
internal static class PrometheusText
{
    public const string Waiting = "dbrx_engine_waiting_requests", Running = "dbrx_engine_running_requests", KvCacheUsage = "dbrx_engine_kv_cache_usage";

    /// <summary>The load, or null when the exposition has no queue gauge (not a DBRX replica, or not started).</summary>
    public static ReplicaLoad? ParseLoad(string text)
    {
        double? waiting = null, running = null, usage = null;
        foreach (var (name, value) in Samples(text))
        {
            if (Is(name, Waiting))
                waiting = (waiting ?? 0) + value;
            else if (Is(name, Running))
                running = (running ?? 0) + value;
            else if (Is(name, KvCacheUsage))
                usage = Math.Max(usage ?? 0, value);
        }
        return waiting is null ? null : new ReplicaLoad(waiting.Value, running ?? 0, usage ?? 0);
    }

    /// <summary>The sum of the samples whose name is <paramref name="metric"/> (or it with a unit or <c>_total</c> suffix).</summary>
    public static double Sum(string text, string metric) =>
        Samples(text).Where(sample => Is(sample.Name, metric)).Sum(sample => sample.Value);

    private static bool Is(string name, string metric) =>
        name == metric || (name.StartsWith(metric, StringComparison.Ordinal) && name[metric.Length] == '_' && name.IndexOf('_', metric.Length + 1) < 0);

    /// <summary>Each sample line's metric name and value; comments, and lines that do not parse, skipped.</summary>
    private static IEnumerable<(string Name, double Value)> Samples(string text)
    {
        foreach (string raw in text.Split('\n'))
        {
            string line = raw.Trim();
            if (line.Length == 0 || line[0] == '#')
                continue;
            int nameEnd = line.IndexOfAny([' ', '{']);
            if (nameEnd <= 0)
                continue;
            int valueStart = line[nameEnd] == '{' ? line.IndexOf('}', nameEnd) + 1 : nameEnd;
            if (valueStart <= 0)
                continue;
            string[] rest = line[valueStart..].Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (rest.Length > 0 && double.TryParse(rest[0], System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out double value))
                yield return (line[..nameEnd], value);
        }
    }
}
