using System.CommandLine;
using System.Globalization;
using System.Text.Json.Nodes;
using Dbrx.Cli.Bench;
using Dbrx.Extensions.AI;
using Dbrx.Gateway;
using Dbrx.Inference.Checkpoints;
using Dbrx.Inference.Configuration;
using Dbrx.Inference.Generation;
using Dbrx.Inference.Loading;
using Dbrx.Inference.Modeling;
using Dbrx.Inference.Runtime;
using Dbrx.Inference.Tokenization;
using TorchSharp;
using static TorchSharp.torch;

namespace Dbrx.Cli.Commands;

/// <summary><c>dbrx bench</c>: prefill and decode speed as fractions of the machine's own measured limits.</summary>
internal static class BenchCommand
{
    /// <summary>The CPU default: DBRX's structure at a width a developer machine runs in seconds.</summary>
    internal static readonly DbrxConfig CpuShape = DbrxPresets.DbrxInstruct with
    {
        DModel = 1024,
        NHeads = 16,
        NLayers = 2,
        MaxSeqLen = 4096,
        Attention = DbrxPresets.DbrxInstruct.Attention with { KvNHeads = 4 },
        Ffn = DbrxPresets.DbrxInstruct.Ffn with { FfnHiddenSize = 1792 },
    };

    public static Command Create()
    {
        var models = new ModelOptions("auto", modelDescription: "Benchmark this checkpoint instead of a random-weight DBRX.");
        var blocks = new Option<int?>("--blocks") { Description = "Blocks of the random model (default 4 on CUDA at DBRX width, 2 on the CPU at a smaller width)." };
        var prefill = new Option<string>("--prefill") { Description = "Prefill lengths (default 512,2048 on CUDA; 128,512 on the CPU)." };
        var context = new Option<int?>("--context") { Description = "Context decode steps attend over (default 1024 on CUDA, 256 on the CPU)." };
        var batches = new Option<string>("--batches") { Description = "Batch sizes for batched decode (default 8,32 on CUDA; 4,8 on the CPU)." };
        var steps = new Option<int>("--steps") { Description = "Decode steps timed per measurement.", DefaultValueFactory = _ => 16 };
        var json = new Option<bool>("--json") { Description = "Print one JSON object instead of a table." };
        var compare = new Option<FileInfo>("--compare") { Description = "Also report speed-ups over another implementation's run on the same configuration (the JSON scripts/transformers_bench.py prints)." }.AcceptExistingOnly();
        var quality = new Option<bool>("--int4-quality") { Description = "Instead of speed: compare the model's logits with its int4 copy (--int4-modules, --int4-group-size) on random prompts." };
        var serve = new Option<bool>("--serve") { Description = "Instead: the HTTP server's overhead, tokens/s and time to first token at each --concurrency through /v1/chat/completions on loopback against the same requests in-process." };
        var concurrency = new Option<string>("--concurrency") { Description = "With --serve: concurrent requests per level.", DefaultValueFactory = _ => "1,8,32" };
        var serveTokens = new Option<int>("--max-tokens") { Description = "With --serve: tokens per answer.", DefaultValueFactory = _ => 32 };
        var sessions = new Option<bool>("--sessions") { Description = "Instead: replay many chat sessions sharing a long system turn, with kept rows only, then the prefix cache on the device, then with a host tier; and serve a batch with the default sampling options against greedy." };
        var sessionCount = new Option<int>("--session-count") { Description = "With --sessions: concurrent sessions.", DefaultValueFactory = _ => 32 };
        var turns = new Option<int>("--turns") { Description = "With --sessions: turns per session.", DefaultValueFactory = _ => 6 };
        var systemTokens = new Option<int>("--system-tokens") { Description = "With --sessions: tokens of the shared system turn.", DefaultValueFactory = _ => 1024 };
        var blockTokens = new Option<int>("--block-tokens") { Description = "With --sessions: tokens per prefix-cache block.", DefaultValueFactory = _ => new DbrxGeneratorOptions().PrefixBlockTokens };
        var sessionBatch = new Option<int>("--batch") { Description = "With --sessions: batch rows.", DefaultValueFactory = _ => 8 };
        var gateway = new Option<bool>("--gateway") { Description = "Instead: replay the sessions through Dbrx.Gateway to three dbrx serve child processes of --model, once per policy (prefix-aware, RoundRobin, LeastRequests)." };
        var faults = new Option<bool>("--faults") { Description = "With --gateway: in the prefix-aware run, kill one replica (SIGKILL) a third of the way in and start it again." };
        var think = new Option<int>("--think-ms") { Description = "With --sessions: longest think time between a session's turns, in milliseconds (drawn uniformly).", DefaultValueFactory = _ => 200 };
        var command = new Command("bench", "Measure prefill and decode speed against this machine's read bandwidth and matmul rate.")
        {
            blocks, prefill, context, batches, steps, json, compare, quality, serve, concurrency, serveTokens,
            sessions, sessionCount, turns, systemTokens, blockTokens, sessionBatch, think, gateway, faults,
        };
        foreach (var (option, least) in new[] { (sessionCount, 1), (turns, 1), (systemTokens, 1), (blockTokens, 1), (sessionBatch, 1), (think, 0) })
        {
            option.Validators.Add(result =>
            {
                if (result.GetValueOrDefault<int>() is var value && value < least)
                    result.AddError($"{option.Name} must be at least {least}, not {value}.");
            });
        }
        models.AddTo(command);
        command.SetAction(CliAction.Run(async (parse, cancellation) =>
        {
            bool quiet = parse.GetValue(json);
            void Log(string line)
            {
                if (!quiet)
                    Console.Error.WriteLine(line);
            }
            if (parse.GetValue(gateway))
            {
                string modelPath = parse.GetValue(models.Model) is not null ? models.Directory(parse) : throw new ArgumentException("--gateway needs --model: the replicas are dbrx serve processes of that folder.");
                var workload = new SessionWorkload(parse.GetValue(sessionCount), parse.GetValue(turns), parse.GetValue(systemTokens), 20, 60, 16, 16, TimeSpan.FromMilliseconds(parse.GetValue(think)));
                var replay = new GatewayBenchmark(modelPath, workload, Log);
                var runs = new List<GatewayRun>();
                foreach (DbrxGatewayPolicy policy in new[] { DbrxGatewayPolicy.PrefixAware, DbrxGatewayPolicy.RoundRobin, DbrxGatewayPolicy.LeastRequests })
                {
                    Log($"gateway: {policy} ...");
                    runs.Add(await replay.RunAsync(policy, parse.GetValue(faults) && policy == DbrxGatewayPolicy.PrefixAware, cancellation));
                }
                Console.WriteLine(GatewayTable(runs, workload));
                return 0;
            }
            // Known once the device is: CUDA and CPU have different defaults.
            string deviceText = parse.GetValue(models.Device)!;
            bool cudaRequested = deviceText.Contains('=', StringComparison.Ordinal)
                ? deviceText.Contains("cuda", StringComparison.OrdinalIgnoreCase)
                : DbrxDevices.ParseDevice(deviceText).type == DeviceType.CUDA;
            int[] prefillLengths = Numbers(parse.GetValue(prefill) ?? (cudaRequested ? "512,2048" : "128,512"));
            int decodeContext = parse.GetValue(context) ?? (cudaRequested ? 1024 : 256);
            int[] batchSizes = Numbers(parse.GetValue(batches) ?? (cudaRequested ? "8,32" : "4,8"));
            int decodeSteps = parse.GetValue(steps);
            JsonObject? reference = parse.GetValue(compare) is { } file ? BenchComparison.ReadReference(file.FullName) : null;
            DbrxQuantization? int4 = parse.GetValue(models.DType)!.Equals("int4", StringComparison.OrdinalIgnoreCase) ? models.Quantization(parse) : null;
            using DbrxForCausalLM bench = parse.GetValue(models.Model) is not null
                ? models.Load(parse, cacheRows: batchSizes.Append(1).Max(), cacheTokens: Math.Max(prefillLengths.Append(0).Max(), decodeContext + decodeSteps + 2))
                : RandomModel(parse.GetValue(models.Device)!, parse.GetValue(models.DType)!, int4, models.AttentionImplementation(parse), models.Dispatch(parse), parse.GetValue(blocks), Log);
            if (parse.GetValue(serve))
            {
                int[] levels = Numbers(parse.GetValue(concurrency)!);
                using var generator = new DbrxGenerator(bench, DbrxTokenizer.Default, new DbrxGeneratorOptions { MaxBatchSize = levels.Max(), MaxQueuedRequests = 4 * levels.Max() });
                using var client = new DbrxChatClient(generator, new DbrxChatClientOptions { ModelId = "bench" });
                var levelsMeasured = await new ServeBenchmark(client, Log).RunAsync(levels, parse.GetValue(serveTokens), cancellation);
                Console.WriteLine(quiet ? ServeJson(levelsMeasured, bench) : ServeTable(levelsMeasured, bench));
                return 0;
            }
            if (parse.GetValue(sessions))
            {
                var workload = new SessionWorkload(parse.GetValue(sessionCount), parse.GetValue(turns), parse.GetValue(systemTokens), 50, 200, 32, 64, TimeSpan.FromMilliseconds(parse.GetValue(think)));
                var (runs, sampling) = await SessionsAsync(bench, workload, parse.GetValue(sessionBatch), parse.GetValue(blockTokens), Log, cancellation);
                Console.WriteLine(quiet ? SessionsOutput.Json(runs, sampling, workload, bench) : SessionsOutput.Table(runs, sampling, workload, bench));
                return 0;
            }
            if (parse.GetValue(quality))
            {
                var (cosine, agreement) = new DbrxBenchmark(bench, Log).CompareInt4(models.Quantization(parse), prompts: 8, length: 64);
                Console.WriteLine(CliJson.Format(new JsonObject { ["int4_logits_cosine"] = cosine, ["int4_top1_agreement"] = agreement, ["dtype"] = DbrxDevices.DTypeName(bench.DType) }, indented: false));
                return 0;
            }
            var report = new DbrxBenchmark(bench, Log).Run(prefillLengths, decodeContext, batchSizes, decodeSteps);
            BenchComparison? versus = reference is null ? null : BenchComparison.Compare(reference, parse.GetValue(compare)!.Name, report);
            Console.WriteLine(quiet ? Json(report, versus) : Table(report, versus));
            return 0;
        }));
        return command;
    }

    /// <summary>
    /// The session replays: kept rows only; the prefix cache on the device with room for the whole working set; a
    /// quarter of that on the device with the rest in a host tier. Then default sampling against greedy.
    /// </summary>
    private static async Task<(List<SessionsRun> Runs, SamplingRun Sampling)> SessionsAsync(DbrxForCausalLM model, SessionWorkload workload, int batch, int blockTokens, Action<string> log, CancellationToken cancellationToken)
    {
        int context = Math.Min(model.Config.MaxSeqLen, workload.SystemTokens + (workload.Turns * (workload.UserMax + workload.AnswerMax)) + 1);
        long tokenBytes = model.Config.NLayers * DbrxMemoryFootprint.BlockCacheBytes(model.Config, SafetensorsDTypes.FromScalarType(model.DType).Size(), 1, 1);
        long workingSet = (long)(1.25 * tokenBytes * (workload.SystemTokens + ((long)workload.Sessions * workload.Turns * ((workload.UserMax + workload.AnswerMax) / 2))));
        var baseline = new DbrxGeneratorOptions { ContextLength = context, PrefixBlockTokens = blockTokens };
        var bench = new SessionsBenchmark(model, log);
        List<SessionsRun> runs = await bench.RunAsync(workload, batch,
        [
            ("kept rows only", baseline with { PrefixCacheBytes = 0 }),
            ($"prefix cache, device {ByteSize.Format(workingSet)}", baseline with { PrefixCacheBytes = workingSet }),
            ($"prefix cache, device {ByteSize.Format(workingSet / 4)} + host {ByteSize.Format(workingSet)}", baseline with { PrefixCacheBytes = workingSet / 4, HostPrefixCacheBytes = workingSet }),
        ], cancellationToken);
        log("sampling: batch of default-sampling requests against greedy ...");
        return (runs, await bench.SamplingAsync(batch, tokens: 64, cancellationToken));
    }

    private static DbrxForCausalLM RandomModel(string deviceName, string dtypeName, DbrxQuantization? quantization, AttentionImplementation attention, ExpertDispatch dispatch, int? blocks, Action<string> log)
    {
        Device device = DbrxDevices.ParseDevice(deviceName);
        bool cuda = device.type == DeviceType.CUDA;
        DbrxConfig config = (cuda ? DbrxPresets.DbrxInstruct : CpuShape) with { NLayers = blocks ?? (cuda ? 4 : 2) };
        ScalarType dtype = DbrxDTypes.Resolve(DbrxDTypes.Parse(dtypeName), device, "bfloat16");
        quantization?.Validate(config);
        string int4 = quantization is null ? "" : $"int4 {string.Join("+", quantization.Modules)} (group {quantization.GroupSize}), ";
        log($"random DBRX: d_model {config.DModel}, {config.NHeads}/{config.Attention.KvNHeads} heads, {config.Ffn.MoeNumExperts} experts x {config.Ffn.FfnHiddenSize}, top-{config.Ffn.MoeTopK}, {config.NLayers} blocks, vocab {config.VocabSize}, {int4}{DbrxDevices.DTypeName(dtype)} on {device}");
        var model = new DbrxForCausalLM(config, dtype, DbrxPlacement.OnDevice(device, config.NLayers), attention, dispatch, quantization);
        // Values only shape the routing here, so they are drawn on the device, fast.
        model.InitializeRandomWeights(seed: 0);
        return model;
    }

    private static string ServeTable(List<ServeComparison> levels, DbrxForCausalLM model)
    {
        var lines = new List<string>
        {
            $"model        d_model {model.Config.DModel}, {model.Config.NLayers} blocks, {DbrxDevices.DTypeName(model.DType)} on {model.Device}; greedy, streamed, the same requests both ways",
            "concurrency  requests   in-process tok/s  TTFT p50 / p99 ms       HTTP tok/s  TTFT p50 / p99 ms    HTTP/in-process  resident MiB",
        };
        foreach (ServeComparison l in levels)
            lines.Add($"{l.Concurrency,11}  {l.Requests,8}   {l.InProcess.TokensPerSecond,16:F1}  {l.InProcess.FirstTokenP50.TotalMilliseconds,8:F0} / {l.InProcess.FirstTokenP99.TotalMilliseconds,-8:F0}  {l.Http.TokensPerSecond,10:F1}  {l.Http.FirstTokenP50.TotalMilliseconds,8:F0} / {l.Http.FirstTokenP99.TotalMilliseconds,-8:F0}  {l.ThroughputRatio,10:F3}  {l.ResidentBytes / (1024.0 * 1024),12:F0}");
        return string.Join('\n', lines);
    }

    private static string ServeJson(List<ServeComparison> levels, DbrxForCausalLM model)
    {
        static JsonObject Measurement(ServeMeasurement m) => new()
        {
            ["tokens_per_s"] = m.TokensPerSecond,
            ["ttft_p50_ms"] = m.FirstTokenP50.TotalMilliseconds,
            ["ttft_p99_ms"] = m.FirstTokenP99.TotalMilliseconds,
        };
        var root = new JsonObject { ["device"] = model.Device.ToString(), ["dtype"] = DbrxDevices.DTypeName(model.DType), ["config"] = JsonNode.Parse(DbrxConfigJson.ToJson(model.Config)) };
        var array = new JsonArray();
        foreach (ServeComparison l in levels)
            array.Add(new JsonObject { ["concurrency"] = l.Concurrency, ["requests"] = l.Requests, ["in_process"] = Measurement(l.InProcess), ["http"] = Measurement(l.Http), ["http_over_in_process"] = l.ThroughputRatio, ["resident_bytes"] = l.ResidentBytes });
        root["levels"] = array;
        return CliJson.Format(root);
    }

    private static int[] Numbers(string text) =>
        [.. text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(t => int.Parse(t, CultureInfo.InvariantCulture))];

    private static JsonObject ByNumber(Dictionary<int, double> values) =>
        new(values.Select(p => KeyValuePair.Create(p.Key.ToString(CultureInfo.InvariantCulture), (JsonNode?)p.Value)));

    private static string Json(BenchReport r, BenchComparison? versus)
    {
        var root = new JsonObject
        {
            ["device"] = r.Device,
            ["dtype"] = r.DType,
            ["attention"] = r.Attention,
            ["expert_dispatch"] = r.ExpertDispatch,
            ["config"] = JsonNode.Parse(DbrxConfigJson.ToJson(r.Config)),
            ["limits"] = new JsonObject { ["read_bandwidth_gb_s"] = r.ReadBandwidthBytesPerSecond / 1e9, ["matmul_tflop_s"] = r.MatmulFlopsPerSecond / 1e12 },
            ["prefill_tokens_per_s"] = ByNumber(r.PrefillTokensPerSecond),
            ["prefill_fraction_of_matmul"] = ByNumber(r.PrefillMatmulFraction),
            ["decode_batch1_ms_per_token"] = r.DecodeMillisecondsPerToken,
            ["decode_context"] = r.DecodeContext,
            ["active_bytes_per_token"] = r.ActiveBytesPerToken,
            ["bandwidth_floor_ms"] = r.BandwidthFloorMilliseconds,
            ["decode_fraction_of_floor"] = r.DecodeFloorFraction,
            ["decode_tokens_per_s"] = ByNumber(r.BatchDecodeTokensPerSecond),
            ["served_tokens_per_s"] = ByNumber(r.ServedTokensPerSecond),
            ["served_new_tokens"] = r.ServedNewTokens,
            ["served_json_schema"] = new JsonObject
            {
                ["batch"] = r.ConstrainedBatch,
                ["tokens_per_s"] = r.ConstrainedServedTokensPerSecond,
                ["fraction_of_unconstrained"] = r.ConstrainedFraction,
            },
            ["follow_up"] = new JsonObject
            {
                ["history_tokens"] = r.FollowUpHistoryTokens,
                ["first_token_ms_reusing_cache"] = r.FollowUpFirstTokenMillisecondsReused,
                ["first_token_ms_prefilling"] = r.FollowUpFirstTokenMillisecondsPrefilled,
            },
            ["peak_memory_bytes"] = r.PeakMemoryBytes,
            ["peak_memory_kind"] = r.PeakMemoryKind,
        };
        if (versus is not null)
        {
            root["versus"] = new JsonObject
            {
                ["reference"] = versus.Reference,
                ["prefill_speedup"] = ByNumber(versus.PrefillSpeedup),
                ["decode_batch1_speedup"] = versus.DecodeBatch1Speedup,
                ["decode_speedup"] = ByNumber(versus.BatchDecodeSpeedup),
            };
        }
        return CliJson.Format(root);
    }

    private static string Table(BenchReport r, BenchComparison? versus)
    {
        var lines = new List<string>
        {
            $"device                 {r.Device}, {r.DType}, {r.Attention} attention, {r.ExpertDispatch} expert dispatch",
            $"model                  d_model {r.Config.DModel}, {r.Config.NLayers} blocks, {r.Config.Ffn.MoeNumExperts} experts x {r.Config.Ffn.FfnHiddenSize}, top-{r.Config.Ffn.MoeTopK}",
            $"read bandwidth         {r.ReadBandwidthBytesPerSecond / 1e9,10:F1} GB/s   (sum over a large tensor)",
            $"matmul                 {r.MatmulFlopsPerSecond / 1e12,10:F2} TFLOP/s (square matmul)",
        };
        foreach (var (length, rate) in r.PrefillTokensPerSecond)
            lines.Add($"prefill {length,-14} {rate,10:F0} tokens/s  = {r.PrefillMatmulFraction[length]:P0} of the matmul rate");
        lines.Add($"decode, batch 1        {r.DecodeMillisecondsPerToken,10:F2} ms/token  = {r.DecodeFloorFraction:P0} of the bandwidth floor ({r.BandwidthFloorMilliseconds:F2} ms for {r.ActiveBytesPerToken / 1e9:F2} GB at context {r.DecodeContext})");
        foreach (var (batch, rate) in r.BatchDecodeTokensPerSecond)
            lines.Add($"decode, batch {batch,-8} {rate,10:F0} tokens/s");
        foreach (var (batch, rate) in r.ServedTokensPerSecond)
            lines.Add($"served, batch {batch,-8} {rate,10:F0} tokens/s  (DbrxGenerator: 16-token prompts, {r.ServedNewTokens} new tokens each, all included)");
        lines.Add($"served JSON, batch {r.ConstrainedBatch,-3} {r.ConstrainedServedTokensPerSecond,10:F0} tokens/s  = {r.ConstrainedFraction:P0} of the same batch unconstrained (each answer constrained to a JSON schema)");
        lines.Add($"follow-up turn         {r.FollowUpFirstTokenMillisecondsReused,10:F1} ms to the first token after {r.FollowUpHistoryTokens} tokens of history, reusing its cache row ({r.FollowUpFirstTokenMillisecondsPrefilled:F1} ms prefilling it)");
        lines.Add($"peak memory            {r.PeakMemoryBytes / (double)(1L << 30),10:F2} GiB ({r.PeakMemoryKind})");
        if (versus is not null)
        {
            lines.Add($"versus {versus.Reference} (above 1: faster here)");
            foreach (var (length, ratio) in versus.PrefillSpeedup)
                lines.Add($"  prefill {length,-12} {ratio,10:F2}x");
            if (versus.DecodeBatch1Speedup is { } decode)
                lines.Add($"  decode, batch 1      {decode,10:F2}x");
            foreach (var (batch, ratio) in versus.BatchDecodeSpeedup)
                lines.Add($"  decode, batch {batch,-6} {ratio,10:F2}x");
        }
        return string.Join('\n', lines);
    }

    private static string GatewayTable(List<GatewayRun> runs, SessionWorkload workload)
    {
        var text = new System.Text.StringBuilder();
        text.AppendLine(CultureInfo.InvariantCulture, $"{workload.Sessions} sessions x {workload.Turns} turns, shared system turn of {workload.SystemTokens} words, 3 replicas");
        text.AppendLine("policy          hit/ideal  cached/ideal tokens  TTFT p50 ms  TTFT p90 ms  tokens/s  requests per replica  ok  failed-before-stream  error-events  cut  hung  rejoined  heap MiB before/after");
        foreach (GatewayRun run in runs)
            text.AppendLine(CultureInfo.InvariantCulture, $"{run.Policy,-15} {run.HitRatioOfIdeal,9:P1}  {run.CachedTokens,8}/{run.IdealCachedTokens,-10} {run.TtftMs.P50,11:F0}  {run.TtftMs.P90,11:F0}  {run.TokensPerSecond,8:F1}  {string.Join('/', run.RequestsPerReplica),-20}  {run.Ok,2}  {run.FailedBeforeStreaming,20}  {run.StreamErrors,12}  {run.StreamsCut,3}  {run.Hung,4}  {run.KilledReplicaRejoined,8}  {run.HeapBytes.Start / 1048576.0:F1}/{run.HeapBytes.End / 1048576.0:F1}");
        return text.ToString();
    }
}
