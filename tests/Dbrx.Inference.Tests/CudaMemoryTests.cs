using Dbrx.Inference.Generation;
using Dbrx.Inference.Loading;
using Dbrx.Inference.Runtime;
using Dbrx.Inference.Tests.Support;
using Dbrx.Inference.Tokenization;

namespace Dbrx.Inference.Tests;

/// <summary>
/// Serving on a GPU leaks nothing: over 1000 requests after a warm-up (greedy, sampled, of different lengths, some
/// cancelled, in batches of 8), the live tensor count is unchanged and the GPU memory the process holds stays flat.
/// Skipped without CUDA; runs alone, since the counts are global.
/// </summary>
[Collection(nameof(MemoryTests))]
[Trait("Category", "Slow")]
public sealed class CudaMemoryTests
{
    private const long AllowedGrowth = 64L << 20;

    [Fact]
    public async Task Gpu_memory_and_live_tensors_stay_flat_over_1000_requests()
    {
        Cuda.RequireOrSkip();
        var ct = TestContext.Current.CancellationToken;
        using var model = DbrxModelLoader.Load(TestData.GoldenModel, new DbrxLoadOptions { Device = "cuda", DType = DbrxDType.BFloat16 });
        using var generator = new DbrxGenerator(model, DbrxTokenizer.Default, new DbrxGeneratorOptions { MaxBatchSize = 8, ContextLength = 64 });
        int[] prompt = [5, 17, 200, 3, 511, 0, 42];

        async Task Request(int r)
        {
            var options = new DbrxGenerationOptions { MaxNewTokens = 4 + r % 7, Temperature = r % 2 == 0 ? 0 : 0.8, Seed = r, StopTokenIds = [] };
            if (r % 8 != 7)
            {
                await generator.GenerateAsync(prompt, options, ct);
                return;
            }
            using var cancel = new CancellationTokenSource();
            await foreach (var _ in generator.GenerateStreamingAsync(prompt, options with { MaxNewTokens = 40 }, cancel.Token))
                cancel.Cancel();
        }
        async Task Requests(int first, int count)
        {
            for (int r = first; r < first + count; r += 8)
                await Task.WhenAll(Enumerable.Range(r, 8).Select(Request));
        }

        // The process's own figure where nvidia-smi lists it; in a container, the devices' (nothing else runs there).
        static long Held() => Dbrx.Cli.Bench.NvidiaSmi.UsedByThisProcess() ?? Dbrx.Cli.Bench.NvidiaSmi.UsedOnDevices();

        // The caching allocator reaches its working set during the warm-up.
        await Requests(0, 80);
        long tensors = LiveTensors.Count(), held = Held();
        Assert.True(held > 0, "nvidia-smi reported no GPU memory in use");
        await Requests(80, 1000);
        long growth = Held() - held;
        TestContext.Current.TestOutputHelper?.WriteLine($"GPU memory held: {held >> 20} MiB after warm-up, growth over 1000 requests {growth >> 20} MiB");
        Assert.Equal(tensors, LiveTensors.Count());
        Assert.True(growth <= AllowedGrowth, $"GPU memory grew by {growth >> 20} MiB over 1000 requests (from {held >> 20} MiB)");
    }
}
