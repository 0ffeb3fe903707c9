using Dbrx.Inference.Generation;
using Dbrx.Inference.Loading;
using Dbrx.Inference.Modeling;
using Dbrx.Inference.Runtime;
using Dbrx.Inference.Tests.Support;
using Dbrx.Inference.Tokenization;
using static TorchSharp.torch;

namespace Dbrx.Inference.Tests;

/// <summary>
/// The golden parity suite on CUDA: float32 within 1e-4 and greedy tokens equal; bfloat16 logits within bfloat16's
/// tolerance of the float32 reference; a GPU+CPU split equal to one device. Skipped, with the reason, where there is
/// no CUDA (CUDA comes from TorchSharp-cuda or DBRX_LIBTORCH_DIR; see README, 'GPUs').
/// </summary>
public sealed class CudaParityTests : IDisposable
{
    private const int Padding = 3, Tokens = 11;
    private readonly Golden golden = new();

    public void Dispose() => golden.Dispose();

    private static DbrxForCausalLM Load(string dtype, AttentionImplementation attention = AttentionImplementation.Sdpa, string device = "cuda", ExpertDispatch dispatch = ExpertDispatch.Auto) =>
        DbrxModelLoader.Load(TestData.GoldenModel, new DbrxLoadOptions { Device = device, DType = DbrxDTypes.Parse(dtype), AttentionImplementation = attention, ExpertDispatch = dispatch });

    [Theory]
    [InlineData(AttentionImplementation.Eager, ExpertDispatch.Auto)]
    [InlineData(AttentionImplementation.Sdpa, ExpertDispatch.Auto)]
    [InlineData(AttentionImplementation.Sdpa, ExpertDispatch.PerExpert)]
    [InlineData(AttentionImplementation.Sdpa, ExpertDispatch.Grouped)]
    public void Float32_logits_match_the_reference_on_cuda(AttentionImplementation attention, ExpertDispatch dispatch)
    {
        Cuda.RequireOrSkip();
        using var model = Load("float32", attention, dispatch: dispatch);
        using var output = Run(model);
        using var expected = golden.Get("logits");
        AssertRealPositionsClose(expected, output.Logits, 1e-4, "float32 logits on CUDA");
    }

    [Fact]
    public async Task Greedy_tokens_equal_the_reference_on_cuda_also_from_a_kept_cache_row()
    {
        Cuda.RequireOrSkip();
        using var model = Load("float32");
        using var generator = new DbrxGenerator(model, DbrxTokenizer.Default, new DbrxGeneratorOptions { ContextLength = 64 });
        var (ids, expected) = golden.GreedyGeneration();
        var options = new DbrxGenerationOptions { Temperature = 0, MaxNewTokens = 20, StopTokenIds = [] };
        var result = await generator.GenerateAsync(ids, options, TestContext.Current.CancellationToken);
        Assert.Equal(expected, result.TokenIds);

        // Again, and extended by 5 of the answer's tokens: both start from the kept cache row on the GPU.
        var again = await generator.GenerateAsync(ids, options, TestContext.Current.CancellationToken);
        var continued = await generator.GenerateAsync([.. ids, .. expected.Take(5)], options with { MaxNewTokens = 15 }, TestContext.Current.CancellationToken);
        Assert.Equal(expected, again.TokenIds);
        Assert.Equal(expected.Skip(5), continued.TokenIds);
        Assert.Equal([ids.Length - 1, ids.Length + 4], new[] { again, continued }.Select(r => r.Usage.CachedPromptTokens));
    }

    /// <summary>bfloat16 keeps 8 bits of mantissa: logits of order 1-10 may differ from float32 by a few hundredths.</summary>
    [Theory]
    [InlineData(AttentionImplementation.Sdpa)]
    [InlineData(AttentionImplementation.FlashAttention2)]
    public void Bfloat16_logits_are_within_bfloat16_tolerance_of_the_reference(AttentionImplementation attention)
    {
        Cuda.RequireOrSkip();
        using var model = Load("bfloat16", attention);
        using var output = Run(model);
        using var expected = golden.Get("logits");
        using var logits = output.Logits.to(ScalarType.Float32, CPU);
        using var scale = expected.abs().max();
        AssertRealPositionsClose(expected, logits, 0.05 * Math.Max(1, scale.item<float>()), "bfloat16 logits on CUDA");
    }

    [Fact]
    public void A_gpu_and_cpu_split_equals_one_device()
    {
        Cuda.RequireOrSkip();
        using var split = Load("float32", device: "embedding=cuda:0,0=cuda:0,1=cpu,head=cpu");
        using var single = Load("float32");
        using var a = Run(split);
        using var b = Run(single);
        using var splitLogits = a.Logits.to(CPU);
        using var singleLogits = b.Logits.to(CPU);
        AssertRealPositionsClose(singleLogits, splitLogits, 1e-4, "GPU+CPU split");
        Assert.Equal(TorchSharp.DeviceType.CPU, split.Placement.Head.type);
    }

    private DbrxCausalLMOutput Run(DbrxForCausalLM model)
    {
        using var ids = golden.Get("input_ids");
        using var mask = golden.Get("attention_mask");
        return model.ForwardDiagnostics(new DbrxModelInput { InputIds = ids, AttentionMask = mask });
    }

    private static void AssertRealPositionsClose(Tensor expected, Tensor actual, double tolerance, string what)
    {
        using var a = actual.to(ScalarType.Float32, CPU);
        TensorAssert.Close(expected[0], a[0], tolerance, $"{what}, row 0");
        TensorAssert.Close(expected[1].narrow(0, Padding, Tokens - Padding), a[1].narrow(0, Padding, Tokens - Padding), tolerance, $"{what}, row 1");
    }
}
