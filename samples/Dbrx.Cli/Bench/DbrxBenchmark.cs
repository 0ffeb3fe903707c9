using System.Diagnostics;
using System.Text.Json;
using Dbrx.ConstrainedDecoding;
using Dbrx.Inference.Checkpoints;
using Dbrx.Inference.Configuration;
using Dbrx.Inference.Generation;
using Dbrx.Inference.Loading;
using Dbrx.Inference.Modeling;
using Dbrx.Inference.Quantization;
using Dbrx.Inference.Runtime;
using Dbrx.Inference.Tokenization;
using TorchSharp;
using static TorchSharp.torch;

namespace Dbrx.Cli.Bench;

/// <summary>What the benchmark measures, and the limits it measures them against on the same machine, in the same run.</summary>
internal sealed record BenchReport
{
    public required string Device { get; init; }
    public required string DType { get; init; }
    public required string Attention { get; init; }
    public required string ExpertDispatch { get; init; }
    public required DbrxConfig Config { get; init; }
    public required double ReadBandwidthBytesPerSecond { get; init; }
    public required double MatmulFlopsPerSecond { get; init; }
    public required Dictionary<int, double> PrefillTokensPerSecond { get; init; }
    public required Dictionary<int, double> PrefillMatmulFraction { get; init; }
    public required double DecodeMillisecondsPerToken { get; init; }
    public required int DecodeContext { get; init; }
    public required double ActiveBytesPerToken { get; init; }
    public required double BandwidthFloorMilliseconds { get; init; }
    public required Dictionary<int, double> BatchDecodeTokensPerSecond { get; init; }
    public required Dictionary<int, double> ServedTokensPerSecond { get; init; }
    public required int ServedNewTokens { get; init; }

    /// <summary>The batch served with each answer constrained to <see cref="DbrxBenchmark.ConstrainedSchema"/>.</summary>
    public required int ConstrainedBatch { get; init; }

    public required double ConstrainedServedTokensPerSecond { get; init; }

    /// <summary>The same batch unconstrained, measured in this run.</summary>
    public double ConstrainedFraction => ConstrainedServedTokensPerSecond / ServedTokensPerSecond[ConstrainedBatch];
    public required int FollowUpHistoryTokens { get; init; }
    public required double FollowUpFirstTokenMillisecondsReused { get; init; }
    public required double FollowUpFirstTokenMillisecondsPrefilled { get; init; }
    public required long PeakMemoryBytes { get; init; }
    public required string PeakMemoryKind { get; init; }

    /// <summary>Decode time of the floor over the time measured: 1 is the bandwidth limit.</summary>
    public double DecodeFloorFraction => BandwidthFloorMilliseconds / DecodeMillisecondsPerToken;
}

/// <summary>
/// The engine's speed against the machine's own limits, measured in one run: read bandwidth (a large <c>sum</c>),
/// matmul throughput (a large square matmul), then prefill, batch-1 decode and batched decode of a random-weight DBRX.
/// Ratios, not absolute numbers, say how close the engine is to the hardware.
/// </summary>
internal sealed class DbrxBenchmark(DbrxForCausalLM model, Action<string> log)
{
    private readonly Device device = model.Device;
    private bool Cuda => device.type == DeviceType.CUDA;

    /// <summary>
    /// Int4 against float on the same inputs: <paramref name="prompts"/> random prompts of <paramref name="length"/>
    /// tokens through this (float) model and its int4 copy; the mean cosine similarity of the logits and how often the
    /// most likely token agrees.
    /// </summary>
    public (double Cosine, double TopOneAgreement) CompareInt4(DbrxQuantization quantization, int prompts, int length)
    {
        using var mode = inference_mode();
        using var int4 = DbrxQuantizer.Quantize(model, quantization);
        double cosine = 0, agreement = 0;
        for (int i = 0; i < prompts; i++)
        {
            using var scope = NewDisposeScope();
            var ids = randint(0, model.Config.VocabSize, [1, length], ScalarType.Int64, device);
            var a = model.Forward(ids, [0]).to_type(ScalarType.Float32).squeeze(0);
            var b = int4.Forward(ids, [0]).to_type(ScalarType.Float32).squeeze(0);
            cosine += nn.functional.cosine_similarity(a, b, 1).mean().item<float>();
            agreement += a.argmax(-1).eq(b.argmax(-1)).to_type(ScalarType.Float32).mean().item<float>();
        }
        log($"int4 vs {DbrxDevices.DTypeName(model.DType)}: cosine {cosine / prompts:F4}, top-1 agreement {agreement / prompts:P1}");
        return (cosine / prompts, agreement / prompts);
    }

    /// <summary>Runs every measurement.</summary>
    public BenchReport Run(IReadOnlyList<int> prefillLengths, int decodeContext, IReadOnlyList<int> batches, int decodeSteps)
    {
        using var mode = inference_mode();
        double bandwidth = ReadBandwidth();
        log($"read bandwidth {bandwidth / 1e9:F1} GB/s");
        double matmul = MatmulFlops();
        log($"matmul {matmul / 1e12:F2} TFLOP/s");

        var prefill = new Dictionary<int, double>();
        var prefillFraction = new Dictionary<int, double>();
        foreach (int length in prefillLengths)
        {
            double seconds = Time(() => Prefill(1, length), repeats: 2);
            prefill[length] = length / seconds;
            prefillFraction[length] = PrefillFlops(length) / seconds / matmul;
            log($"prefill {length}: {prefill[length]:F0} tokens/s ({prefillFraction[length]:P0} of matmul)");
        }

        TimedSteps single = DecodeSeconds(1, decodeContext, decodeSteps);
        double decode = single.SecondsPerStep * 1000;
        double activeBytes = ActiveBytesPerToken(decodeContext);
        double floor = activeBytes / bandwidth * 1000;
        log($"decode batch 1, context {decodeContext}: {decode:F2} ms/token over {single.Steps} steps, rounds within {single.Spread:P0} (floor {floor:F2} ms: {floor / decode:P0})");

        var batched = new Dictionary<int, double>();
        foreach (int batch in batches)
        {
            TimedSteps timed = DecodeSeconds(batch, decodeContext, decodeSteps);
            batched[batch] = batch / timed.SecondsPerStep;
            log($"decode batch {batch}: {batched[batch]:F0} tokens/s over {timed.Steps} steps, rounds within {timed.Spread:P0}");
            // A batch decodes its rows in one step: fewer tokens/s than one row means the timing, not the engine.
            if (batch > 1 && batched[batch] < 1000 / decode)
                log($"warning: decode batch {batch} measured below batch 1 ({batched[batch]:F0} < {1000 / decode:F0} tokens/s); the machine's load dominates these figures, rerun with more --steps");
        }

        // Through DbrxGenerator, as IChatClient serves: short prompts, greedy, sampling and streaming included.
        int servedTokens = Math.Max(decodeSteps, 32);
        var served = new Dictionary<int, double>();
        foreach (int batch in batches.Prepend(1).Append(ConstrainedBatchSize).Distinct())
        {
            served[batch] = ServedTokensPerSecond(batch, servedTokens, constrained: false);
            log($"served batch {batch}: {served[batch]:F0} tokens/s");
        }
        double constrainedServed = ServedTokensPerSecond(ConstrainedBatchSize, servedTokens, constrained: true);
        log($"served batch {ConstrainedBatchSize}, JSON-schema output: {constrainedServed:F0} tokens/s ({constrainedServed / served[ConstrainedBatchSize]:P0} of unconstrained)");

        // The next turn of a chat: the history is as long as the longest prefill measured.
        int history = prefillLengths.Max();
        double reused = FollowUpFirstTokenSeconds(history, reuse: true) * 1000, prefilled = FollowUpFirstTokenSeconds(history, reuse: false) * 1000;
        log($"follow-up after {history} tokens: first token in {reused:F1} ms from the cache row, {prefilled:F1} ms prefilling");

        var (peak, kind) = PeakMemory();
        return new BenchReport
        {
            Device = DeviceName(),
            DType = (model.Quantization is { } q ? $"int4 {string.Join('+', q.Modules)} (group {q.GroupSize}), " : "") + DbrxDevices.DTypeName(model.DType),
            Attention = model.AttentionImplementation.ToName(),
            ExpertDispatch = model.ExpertDispatch.ToString(),
            Config = model.Config,
            ReadBandwidthBytesPerSecond = bandwidth,
            MatmulFlopsPerSecond = matmul,
            PrefillTokensPerSecond = prefill,
            PrefillMatmulFraction = prefillFraction,
            DecodeMillisecondsPerToken = decode,
            DecodeContext = decodeContext,
            ActiveBytesPerToken = activeBytes,
            BandwidthFloorMilliseconds = floor,
            BatchDecodeTokensPerSecond = batched,
            ServedTokensPerSecond = served,
            ServedNewTokens = servedTokens,
            ConstrainedBatch = ConstrainedBatchSize,
            ConstrainedServedTokensPerSecond = constrainedServed,
            FollowUpHistoryTokens = history,
            FollowUpFirstTokenMillisecondsReused = reused,
            FollowUpFirstTokenMillisecondsPrefilled = prefilled,
            PeakMemoryBytes = peak,
            PeakMemoryKind = kind,
        };
    }

    /// <summary>Bytes per second a reduction reads, in the model's dtype (what decode reads).</summary>
    private double ReadBandwidth()
    {
        long bytes = Cuda ? 4L << 30 : 1L << 30;
        using var probe = ones(1, model.DType);
        long elements = bytes / probe.ElementSize;
        using var data = ones(elements, model.DType, device);
        double seconds = Time(() => data.sum().Dispose(), repeats: 5);
        return bytes / seconds;
    }

    private double MatmulFlops()
    {
        long n = Cuda ? 8192 : 1024;
        ScalarType dtype = Cuda ? ScalarType.BFloat16 : ScalarType.Float32;
        using var a = randn(n, n, dtype, device);
        using var b = randn(n, n, dtype, device);
        double seconds = Time(() => a.matmul(b).Dispose(), repeats: 5);
        return 2.0 * n * n * n / seconds;
    }

    private void Prefill(int batch, int length)
    {
        using var scope = NewDisposeScope();
        using var cache = model.CreateCache(batch, length);
        var ids = randint(0, model.Config.VocabSize, [batch, length], ScalarType.Int64, device);
        model.Forward(ids, new long[batch], cache, logitsAt: Enumerable.Repeat(length - 1, batch).ToArray()).Dispose();
    }

    /// <summary>
    /// Seconds per decode step of <paramref name="batch"/> rows over a prefilled context: rounds of
    /// <paramref name="steps"/> steps from the same position (the cache rewound), until they agree.
    /// </summary>
    private TimedSteps DecodeSeconds(int batch, int context, int steps)
    {
        using var cache = model.CreateCache(batch, context + steps + 2);
        long[] atContext = [.. Enumerable.Repeat((long)context, batch)];
        int[] lastToken = new int[batch];
        using (var prompt = randint(0, model.Config.VocabSize, [batch, context], ScalarType.Int64, device))
            model.Forward(prompt, new long[batch], cache, logitsAt: Enumerable.Repeat(context - 1, batch).ToArray()).Dispose();
        using var next = randint(0, model.Config.VocabSize, [batch, 1], ScalarType.Int64, device);
        long[] position = [.. atContext];
        var timed = StableTiming.Measure(
            steps,
            // Each round decodes the same positions again (the cache holds the prompt; the steps overwrite their slots).
            beforeRound: () => Array.Copy(atContext, position, batch),
            step: () =>
            {
                using var logits = model.Forward(next, position, cache, lastToken);
                // The sampled token would feed the next step; argmax keeps the step honest without a host sync per row.
                using var token = logits.argmax(-1);
                for (int row = 0; row < batch; row++)
                    position[row]++;
            },
            synchronize: Synchronize);
        if (!timed.Stable)
            log($"warning: decode batch {batch} did not settle: rounds of {steps} steps still differed by {timed.Spread:P0} after {timed.Steps} steps (the machine is busy?); the figure is the median round");
        return timed;
    }

    /// <summary>The batch whose constrained throughput is measured.</summary>
    public const int ConstrainedBatchSize = 8;

    /// <summary>What the constrained requests answer in: an order, with strings, numbers, an enum, a date and an array of objects.</summary>
    public const string ConstrainedSchema = """
        {"type":"object","properties":{"id":{"type":"string","format":"uuid"},"customer":{"type":"string","maxLength":40},
        "status":{"enum":["new","paid","shipped"]},"placed":{"type":"string","format":"date-time"},
        "items":{"type":"array","items":{"type":"object","properties":{"sku":{"type":"string","pattern":"^[A-Z]{3}-[0-9]{4}$"},
        "quantity":{"type":"integer","minimum":1,"maximum":99},"price":{"type":"number","minimum":0}},"required":["sku","quantity","price"]}}},
        "required":["id","customer","status","placed","items"]}
        """;

    /// <summary>
    /// Tokens per second <paramref name="batch"/> concurrent requests get from a <see cref="DbrxGenerator"/> over this
    /// model: 16-token prompts, <paramref name="newTokens"/> greedy tokens each (or until the constrained JSON is
    /// complete), wall time from submission to the last token (prefill, sampling, masks, detokenizing and streaming
    /// included).
    /// </summary>
    private double ServedTokensPerSecond(int batch, int newTokens, bool constrained)
    {
        const int promptTokens = 16;
        var options = new DbrxGenerationOptions
        {
            Temperature = 0,
            MaxNewTokens = newTokens,
            StopTokenIds = [],
            ConstraintFactory = constrained ? DbrxJsonConstraint.ForSchema(JsonDocument.Parse(ConstrainedSchema).RootElement, DbrxTokenizer.Default) : null,
        };
        using var generator = new DbrxGenerator(model, DbrxTokenizer.Default, new DbrxGeneratorOptions { MaxBatchSize = batch, ContextLength = promptTokens + newTokens + 1 });
        var random = new Random(batch);
        int[] Prompt() => [.. Enumerable.Range(0, promptTokens).Select(_ => random.Next(Math.Min(model.Config.VocabSize, DbrxSpecialTokens.EndOfText)))];
        generator.GenerateAsync(Prompt(), options with { MaxNewTokens = 2 }).GetAwaiter().GetResult();
        var clock = Stopwatch.StartNew();
        var results = Task.WhenAll(Enumerable.Range(0, batch).Select(_ => generator.GenerateAsync(Prompt(), options))).GetAwaiter().GetResult();
        return results.Sum(r => r.TokenIds.Count) / clock.Elapsed.TotalSeconds;
    }

    /// <summary>
    /// Time to the first token of a follow-up request, through a <see cref="DbrxGenerator"/>: its prompt repeats an
    /// earlier request's <paramref name="history"/> tokens and that request's answer, then adds 16 tokens (the next turn
    /// of a chat), with or without starting from the cache row the earlier request left.
    /// </summary>
    private double FollowUpFirstTokenSeconds(int history, bool reuse)
    {
        const int newTokens = 16;
        var options = new DbrxGenerationOptions { Temperature = 0, MaxNewTokens = 2, StopTokenIds = [] };
        var serving = new DbrxGeneratorOptions { MaxBatchSize = 1, ContextLength = history + 2 * newTokens, ReusePromptPrefixes = reuse };
        using var generator = new DbrxGenerator(model, DbrxTokenizer.Default, serving);
        var random = new Random(history);
        int[] Tokens(int count) => [.. Enumerable.Range(0, count).Select(_ => random.Next(Math.Min(model.Config.VocabSize, DbrxSpecialTokens.EndOfText)))];
        int[] earlier = Tokens(history);
        GenerationResult answer = generator.GenerateAsync(earlier, options).GetAwaiter().GetResult();
        GenerationResult followUp = generator.GenerateAsync([.. earlier, .. answer.TokenIds, .. Tokens(newTokens)], options).GetAwaiter().GetResult();
        return followUp.Timings.TimeToFirstToken.TotalSeconds;
    }

    /// <summary>
    /// Bytes a batch-1 decode step must read: every tensor of the model as it is held (int4 where quantized) except
    /// that only the top-k chosen experts of each block are read and only one row of the embedding, plus the KV cache
    /// over the context.
    /// </summary>
    private double ActiveBytesPerToken(int context)
    {
        DbrxConfig c = model.Config;
        int element = SafetensorsDTypes.FromScalarType(model.DType).Size();
        double chosenExperts = (double)c.Ffn.MoeTopK / c.Ffn.MoeNumExperts;
        double weights = DbrxTensorLayout.For(c).Sum(s =>
            s.Name == DbrxTensorLayout.EmbeddingName ? (double)c.DModel * element
            : DbrxMemoryFootprint.TensorBytes(s, element, model.Quantization) * (DbrxTensorLayout.IsExpertWeight(s.Name) ? chosenExperts : 1));
        double cache = c.NLayers * (double)DbrxMemoryFootprint.BlockCacheBytes(c, element, rows: 1, tokens: context);
        return weights + cache;
    }

    /// <summary>
    /// Matmul FLOPs of a prefill: 2 per active weight per token (the embedding is a lookup and lm_head runs for the one
    /// kept token; the norms' few weights are counted too), plus attention's two products (causal: half).
    /// </summary>
    private double PrefillFlops(int length)
    {
        DbrxConfig c = model.Config;
        double head = (double)c.VocabSize * c.DModel;
        double weights = 2.0 * length * (c.ActiveParameterCount - 2 * head) + 2.0 * head;
        double scores = c.NLayers * 2.0 * 2.0 * length * length * c.DModel / 2;
        return weights + scores;
    }

    private double Time(Action action, int repeats)
    {
        action();
        Synchronize();
        var clock = Stopwatch.StartNew();
        for (int i = 0; i < repeats; i++)
            action();
        Synchronize();
        return clock.Elapsed.TotalSeconds / repeats;
    }

    private void Synchronize()
    {
        if (Cuda)
            cuda.synchronize(device);
    }

    private string DeviceName()
    {
        if (!Cuda)
            return $"CPU ({Environment.ProcessorCount} cores, {System.Runtime.InteropServices.RuntimeInformation.OSDescription})";
        try
        {
            return NvidiaSmi.DeviceName(device.index < 0 ? 0 : device.index);
        }
        catch (InvalidOperationException)
        {
            return "CUDA device (nvidia-smi unavailable)";
        }
    }

    /// <summary>GPU: memory the process holds (the caching allocator keeps its high-water mark); CPU: peak working set.</summary>
    private (long Bytes, string Kind) PeakMemory()
    {
        if (!Cuda)
            return (Process.GetCurrentProcess().PeakWorkingSet64, "peak process working set");
        try
        {
            return NvidiaSmi.UsedByThisProcess() is { } mine
                ? (mine, "GPU memory held by the process (caching allocator high-water mark)")
                : (NvidiaSmi.UsedOnDevices(), "GPU memory used on the devices (nvidia-smi does not list this process, as in a container)");
        }
        catch (InvalidOperationException)
        {
            return (0, "unknown (nvidia-smi unavailable)");
        }
    }
}
