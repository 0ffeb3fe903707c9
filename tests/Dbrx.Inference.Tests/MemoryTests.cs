using Dbrx.Inference.Checkpoints;
using Dbrx.Inference.Configuration;
using Dbrx.Inference.Generation;
using Dbrx.Inference.Loading;
using Dbrx.Inference.Modeling;
using Dbrx.Inference.Runtime;
using Dbrx.Inference.Tests.Support;
using Dbrx.Inference.Tokenization;
using static TorchSharp.torch;

namespace Dbrx.Inference.Tests;

[CollectionDefinition(nameof(MemoryTests), DisableParallelization = true)]
public sealed class MemoryTestsCollection;

/// <summary>
/// No tensor outlives its request: the live tensor count (TorchSharp counts every native tensor handle) is the same
/// before and after many requests, greedy, sampled, constrained, cancelled and batched. Runs alone, since the count is global.
/// </summary>
[Collection(nameof(MemoryTests))]
[Trait("Category", "Slow")]
public sealed class MemoryTests(TinyModel tiny) : IClassFixture<TinyModel>
{
    [Fact]
    public async Task Repeated_requests_leave_no_tensors_behind()
    {
        var ct = TestContext.Current.CancellationToken;
        using var generator = new DbrxGenerator(tiny.Model, DbrxTokenizer.Default, new DbrxGeneratorOptions { MaxBatchSize = 3, ContextLength = 128, PrefillChunkTokens = 2 });
        int[] prompt = DbrxTokenizer.Default.Encode("Memory check over many requests, prefilled two tokens at a time");
        async Task Round(int i)
        {
            var options = new DbrxGenerationOptions { MaxNewTokens = 6, Temperature = i % 2 == 0 ? 0 : 0.8, Seed = i, RepetitionPenalty = 1.1 };
            await Task.WhenAll(Enumerable.Range(0, 4).Select(k => generator.GenerateAsync(prompt, options, ct)));
            using var cancel = new CancellationTokenSource();
            await foreach (var _ in generator.GenerateStreamingAsync(prompt, options with { MaxNewTokens = 50 }, cancel.Token))
                cancel.Cancel();
            // Constrained: the sampler asks the constraint for a mask at every token.
            var constrained = options with { ConstraintFactory = () => new AllowsEverything(tiny.Model.Config.VocabSize) };
            await generator.GenerateAsync(prompt, constrained, ct);
            using var stop = new CancellationTokenSource();
            await foreach (var _ in generator.GenerateStreamingAsync(prompt, constrained with { MaxNewTokens = 50 }, stop.Token))
                stop.Cancel();
        }
        await Round(0);
        long before = LiveTensors.Count();
        for (int i = 1; i <= 25; i++)
            await Round(i);
        Assert.Equal(before, LiveTensors.Count());
    }

    private sealed class AllowsEverything(int vocabulary) : Generation.ITokenConstraint
    {
        public void FillAllowedTokens(Span<ulong> allowed, int remainingTokens)
        {
            allowed.Clear();
            for (int id = 0; id < vocabulary; id++)
                allowed[id / 64] |= 1UL << (id % 64);
        }
        public void Accept(int tokenId) { }
        public bool IsComplete => false;
    }

    /// <summary>
    /// Quantizing on load streams the checkpoint: each float tensor is read, quantized and dropped before the next, so
    /// after every tensor no more tensors are alive than the loaded model holds in the end (a float tensor kept past its
    /// step, or all of them kept to the end, would add to the count).
    /// </summary>
    [Fact]
    public void Quantizing_on_load_never_holds_the_float_model()
    {
        using var dir = new TempDirectory();
        DbrxRandomCheckpoint.Write(DbrxPresets.Tiny with { VocabSize = 512 }, dir.Path, seed: 4, ScalarType.Float32);
        var alive = new List<long>();
        var options = new DbrxLoadOptions { Device = "cpu", DType = DbrxDType.Int4, Int4 = DbrxQuantization.WithModules("experts,attention,lm_head", 32), Progress = new AfterEachTensor(() => alive.Add(LiveTensors.Count())) };
        using var model = DbrxModelLoader.Load(dir.Path, options);
        long loaded = LiveTensors.Count();
        Assert.Equal(19, alive.Count);
        Assert.All(alive, count => Assert.InRange(count, 0, loaded));
    }

    /// <summary>Runs on the loading thread after each tensor (<see cref="Progress{T}"/> would post it elsewhere).</summary>
    private sealed class AfterEachTensor(Action action) : IProgress<DbrxTensorProgress>
    {
        public void Report(DbrxTensorProgress value) => action();
    }

    [Fact]
    public void Forward_passes_leave_no_tensors_behind()
    {
        using var ids = tensor(new long[] { 1, 2, 3, 4 }, [1, 4], ScalarType.Int64);
        using var cache = tiny.Model.CreateCache(1, 64);
        long before = LiveTensors.Count();
        for (int i = 0; i < 5; i++)
        {
            cache.Reset();
            using (tiny.Model.ForwardDiagnostics(new DbrxModelInput { InputIds = ids, Cache = cache, OutputHiddenStates = true, OutputAttentions = true, OutputRouterLogits = true, Labels = ids })) { }
        }
        Assert.Equal(before, LiveTensors.Count());
    }
}
