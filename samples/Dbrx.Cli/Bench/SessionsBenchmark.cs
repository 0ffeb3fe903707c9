using System.Diagnostics;
using Dbrx.Inference.Generation;
using Dbrx.Inference.Modeling;
using Dbrx.Inference.Tokenization;

namespace Dbrx.Cli.Bench;

/// <summary>
/// A multi-session workload: <paramref name="Sessions"/> conversations of <paramref name="Turns"/> turns each, all
/// opening with the same system turn of <paramref name="SystemTokens"/> tokens, user turns and answers of random
/// lengths within the given ranges, and a think time of up to <paramref name="MaxThink"/> between a session's turns.
/// Token ids are drawn from <paramref name="Seed"/>, so every replay sends the same requests.
/// </summary>
internal sealed record SessionWorkload(int Sessions, int Turns, int SystemTokens, int UserMin, int UserMax, int AnswerMin, int AnswerMax, TimeSpan MaxThink, int Seed = 1);

/// <summary>One cache configuration replayed: what it reused, how soon answers started, how fast, and the memory.</summary>
/// <param name="Name">The configuration.</param>
/// <param name="PromptTokens">Prompt tokens of all requests.</param>
/// <param name="CachedTokens">Of those, the ones taken from the cache (rows or blocks) rather than prefilled.</param>
/// <param name="IdealCachedTokens">What a cache holding every prefix seen before, without limit, would have given.</param>
/// <param name="FirstTurn">Time to first token of the sessions' first turns: p50 and p90.</param>
/// <param name="FollowUps">Time to first token of the later turns: p50 and p90.</param>
/// <param name="TokensPerSecond">Generated tokens over the replay's wall time.</param>
/// <param name="PeakResidentBytes">The process's largest resident memory seen during the replay.</param>
/// <param name="PrefixBlocks">Device-tier blocks the prefix cache held at the end (and host-tier ones).</param>
internal sealed record SessionsRun(string Name, long PromptTokens, long CachedTokens, long IdealCachedTokens, (TimeSpan P50, TimeSpan P90) FirstTurn, (TimeSpan P50, TimeSpan P90) FollowUps, double TokensPerSecond, long PeakResidentBytes, (int Device, int Host) PrefixBlocks)
{
    /// <summary>Cached tokens as a share of what the unlimited cache would give.</summary>
    public double HitRatioOfIdeal => IdealCachedTokens == 0 ? 1 : (double)CachedTokens / IdealCachedTokens;
}

/// <summary>Greedy and default sampling served side by side at one batch size.</summary>
internal sealed record SamplingRun(int Batch, double GreedyTokensPerSecond, double SampledTokensPerSecond)
{
    public double Ratio => SampledTokensPerSecond / GreedyTokensPerSecond;
}

/// <summary>
/// <c>dbrx bench --sessions</c>: replays a <see cref="SessionWorkload"/> on one model with several prefix-cache
/// configurations, in one run (kept rows only, then the block cache on the device, then with a host tier), and serves a
/// batch with the default sampling options against greedy.
/// </summary>
internal sealed class SessionsBenchmark(DbrxForCausalLM model, Action<string> log)
{
    /// <summary>Replays <paramref name="workload"/> once per configuration, with a fresh generator each.</summary>
    public async Task<List<SessionsRun>> RunAsync(SessionWorkload workload, int batch, IReadOnlyList<(string Name, DbrxGeneratorOptions Options)> configurations, CancellationToken cancellationToken)
    {
        var runs = new List<SessionsRun>();
        foreach (var (name, options) in configurations)
        {
            log($"sessions: {name} ...");
            runs.Add(await ReplayAsync(workload, name, options with { MaxBatchSize = batch, MaxQueuedRequests = workload.Sessions }, cancellationToken));
            SessionsRun run = runs[^1];
            log($"sessions: {name}: {run.CachedTokens:N0} of {run.PromptTokens:N0} prompt tokens cached ({run.HitRatioOfIdeal:P1} of the ideal), follow-up TTFT p50 {run.FollowUps.P50.TotalMilliseconds:F0} ms");
        }
        return runs;
    }

    /// <summary>Tokens/s of <paramref name="batch"/> requests of <paramref name="tokens"/> tokens together, greedy and with the default sampling options, alternating three times each.</summary>
    public async Task<SamplingRun> SamplingAsync(int batch, int tokens, CancellationToken cancellationToken)
    {
        using var generator = new DbrxGenerator(model, DbrxTokenizer.Default, new DbrxGeneratorOptions { MaxBatchSize = batch, ContextLength = 512, PrefixCacheBytes = 0 });
        var random = new Random(5);
        int vocab = Math.Min(model.Config.VocabSize, DbrxSpecialTokens.EndOfText);
        async Task<double> Measure(DbrxGenerationOptions options)
        {
            int[][] prompts = [.. Enumerable.Range(0, batch).Select(_ => Enumerable.Range(0, 32).Select(_ => random.Next(vocab)).ToArray())];
            var clock = Stopwatch.StartNew();
            GenerationResult[] results = await Task.WhenAll(prompts.Select(p => generator.GenerateAsync(p, options, cancellationToken)));
            return results.Sum(r => r.TokenIds.Count) / clock.Elapsed.TotalSeconds;
        }
        var greedy = new DbrxGenerationOptions { Temperature = 0, MaxNewTokens = tokens, StopTokenIds = [] };
        var sampled = new DbrxGenerationOptions { MaxNewTokens = tokens, StopTokenIds = [], Seed = 3 };   // the defaults: temperature 0.7, top-k 50, top-p 0.95
        await Measure(greedy);   // untimed: the batch's first passes
        var (greedyRates, sampledRates) = (new List<double>(), new List<double>());
        for (int i = 0; i < 3; i++)
        {
            greedyRates.Add(await Measure(greedy));
            sampledRates.Add(await Measure(sampled));
        }
        return new SamplingRun(batch, greedyRates.Order().ElementAt(1), sampledRates.Order().ElementAt(1));
    }

    private async Task<SessionsRun> ReplayAsync(SessionWorkload workload, string name, DbrxGeneratorOptions options, CancellationToken cancellationToken)
    {
        using var generator = new DbrxGenerator(model, DbrxTokenizer.Default, options);
        var random = new Random(workload.Seed);
        int vocab = Math.Min(model.Config.VocabSize, DbrxSpecialTokens.EndOfText);
        int[] Tokens(int count) => [.. Enumerable.Range(0, count).Select(_ => random.Next(vocab))];
        int[] system = Tokens(workload.SystemTokens);
        // Every session's user turns, answer lengths and think times, drawn up front: the same for every configuration.
        var plans = Enumerable.Range(0, workload.Sessions).Select(_ => Enumerable.Range(0, workload.Turns).Select(_ =>
            (User: Tokens(random.Next(workload.UserMin, workload.UserMax + 1)), Answer: random.Next(workload.AnswerMin, workload.AnswerMax + 1),
             Think: TimeSpan.FromMilliseconds(random.NextDouble() * workload.MaxThink.TotalMilliseconds))).ToList()).ToList();

        var seen = new List<int[]>();   // every prompt and every finished sequence, in the order the engine saw them
        var requests = new List<(int Turn, int PromptTokens, int Cached, int Ideal, TimeSpan FirstToken)>();
        long generated = 0;
        using var peak = new ResidentPeak();
        var clock = Stopwatch.StartNew();
        async Task Session(List<(int[] User, int Answer, TimeSpan Think)> plan)
        {
            List<int> history = [.. system];
            for (int turn = 0; turn < plan.Count; turn++)
            {
                history.AddRange(plan[turn].User);
                int[] prompt = [.. history];
                int ideal;
                lock (seen)
                {
                    ideal = seen.Select(s => CommonPrefix(s, prompt)).DefaultIfEmpty(0).Max();
                    seen.Add(prompt);
                }
                var sent = Stopwatch.StartNew();
                TimeSpan? first = null;
                var answer = new List<int>();
                GenerationUsage? usage = null;
                await foreach (GenerationUpdate update in generator.GenerateStreamingAsync(prompt, new DbrxGenerationOptions { Temperature = 0, MaxNewTokens = plan[turn].Answer, StopTokenIds = [] }, cancellationToken))
                {
                    first ??= sent.Elapsed;
                    answer.AddRange(update.TokenIds);
                    usage ??= update.Usage;
                }
                history.AddRange(answer);
                lock (seen)
                {
                    seen.Add([.. history]);
                    requests.Add((turn, prompt.Length, usage!.CachedPromptTokens, Math.Min(ideal, prompt.Length - 1), first!.Value));
                    generated += answer.Count;
                }
                await Task.Delay(plan[turn].Think, cancellationToken);
            }
        }
        await Task.WhenAll(plans.Select(Session));
        TimeSpan wall = clock.Elapsed;
        static (TimeSpan, TimeSpan) Percentiles(IEnumerable<TimeSpan> values)
        {
            TimeSpan[] sorted = [.. values.Order()];
            return sorted.Length == 0 ? default : (sorted[(sorted.Length - 1) / 2], sorted[(int)Math.Ceiling(0.9 * sorted.Length) - 1]);
        }
        DbrxEngineStatistics statistics = generator.Statistics;
        return new SessionsRun(name, requests.Sum(r => (long)r.PromptTokens), requests.Sum(r => (long)r.Cached), requests.Sum(r => (long)r.Ideal),
            Percentiles(requests.Where(r => r.Turn == 0).Select(r => r.FirstToken)), Percentiles(requests.Where(r => r.Turn > 0).Select(r => r.FirstToken)),
            generated / wall.TotalSeconds, peak.Bytes, (statistics.PrefixCacheBlocks, statistics.HostPrefixCacheBlocks));
    }

    private static int CommonPrefix(int[] a, int[] b)
    {
        int n = Math.Min(a.Length, b.Length), i = 0;
        while (i < n && a[i] == b[i])
            i++;
        return i;
    }

    /// <summary>The process's largest resident memory while it lives, sampled every 50 ms.</summary>
    private sealed class ResidentPeak : IDisposable
    {
        private readonly Timer timer;
        private long bytes = Environment.WorkingSet;

        public ResidentPeak() => timer = new Timer(_ => Interlocked.Exchange(ref bytes, Math.Max(Interlocked.Read(ref bytes), Environment.WorkingSet)), null, 0, 50);

        public long Bytes => Math.Max(Interlocked.Read(ref bytes), Environment.WorkingSet);

        public void Dispose() => timer.Dispose();
    }
}
