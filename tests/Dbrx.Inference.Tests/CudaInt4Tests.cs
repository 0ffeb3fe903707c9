using Dbrx.Inference.Checkpoints;
using Dbrx.Inference.Configuration;
using Dbrx.Inference.Loading;
using Dbrx.Inference.Modeling;
using Dbrx.Inference.Runtime;
using Dbrx.Inference.Tests.Support;
using static TorchSharp.torch;

namespace Dbrx.Inference.Tests;

/// <summary>
/// Int4 on CUDA: tinygemm's packing (uint8 pairs, the even column in the high nibble, 8/4/2 inner K tiles) against
/// the dequantized weights, and an int4 model on the GPU against the same int4 model on the CPU. Skipped without CUDA.
/// </summary>
public sealed class CudaInt4Tests
{
    /// <summary>Rows below <see cref="Int4PackedWeight.ManyRows"/> run tinygemm; from there on, dequantize and the dense matmul.</summary>
    [Theory]
    [InlineData(96, 128, 32, 5)]
    [InlineData(48, 64, 64, 5)]
    [InlineData(16, 96, 32, 5)]
    [InlineData(256, 6144, 128, 5)]
    [InlineData(96, 128, 32, 300)]
    [InlineData(256, 6144, 128, 300)]
    public void The_cuda_int4_matmul_multiplies_by_the_dequantized_weight(int outFeatures, int inFeatures, int groupSize, int rows)
    {
        Cuda.RequireOrSkip();
        using var scope = NewDisposeScope();
        var gpu = new Device(TorchSharp.DeviceType.CUDA, 0);
        var weight = randn(outFeatures, inFeatures) * 0.05;
        using var quantized = Int4Weights.Quantize(weight, groupSize);
        using var packed = new Int4PackedWeight(quantized, groupSize, ScalarType.BFloat16, gpu);
        var x = randn(rows, inFeatures).to(ScalarType.BFloat16);
        var actual = packed.Matmul(x.to(gpu)).to(ScalarType.Float32, CPU);
        var expected = x.to(ScalarType.Float32).matmul(quantized.Dequantize().t());
        double scale = Math.Max(1, expected.abs().max().item<float>());
        TensorAssert.Close(expected, actual, 0.02 * scale, $"int4 [{outFeatures}, {inFeatures}] group {groupSize}, {rows} rows, on CUDA vs dequantized");
    }

    /// <summary>The kernel's own packing, read back by <see cref="TinygemmLayout"/>, gives the values packed.</summary>
    [Theory]
    [InlineData(96, 128)]
    [InlineData(48, 64)]
    [InlineData(16, 96)]
    [InlineData(10752, 6144)]
    public void Unpacking_the_cuda_kernels_layout_returns_the_values(int n, int k)
    {
        Cuda.RequireOrSkip();
        using var scope = NewDisposeScope();
        using var quantized = Int4Weights.Quantize(randn(n, k), 32);
        var packed = AtenOps.PackInt4ForCuda(quantized.Pairs.to(new Device(TorchSharp.DeviceType.CUDA, 0)));
        TensorAssert.Identical(quantized.Values(), TinygemmLayout.Unpack(packed).cpu(), $"tinygemm layout [{n}, {k}] read back");
    }

    /// <summary>Quantizing on the GPU (loading, <c>dbrx quantize --device cuda</c>) gives the CPU's values bit for bit.</summary>
    [Fact]
    public void Quantizing_on_cuda_gives_the_same_values_as_on_the_cpu()
    {
        Cuda.RequireOrSkip();
        using var scope = NewDisposeScope();
        var weight = (randn(16 * 96, 128) * 0.05).to(ScalarType.BFloat16);
        using var onCpu = Int4ExpertWeights.QuantizeStored(weight, 16, 96, 128, transposed: true, groupSize: 32, CPU);
        using var onGpu = Int4ExpertWeights.QuantizeStored(weight, 16, 96, 128, transposed: true, groupSize: 32, new Device(TorchSharp.DeviceType.CUDA, 0));
        TensorAssert.Identical(onCpu.Pairs, onGpu.Pairs.cpu(), "int4 values");
        TensorAssert.Identical(onCpu.Scales, onGpu.Scales.cpu(), "scales");
        TensorAssert.Identical(onCpu.Zeros, onGpu.Zeros.cpu(), "zeros");
    }

    [Fact]
    public void An_int4_model_on_cuda_matches_the_same_int4_model_on_the_cpu()
    {
        Cuda.RequireOrSkip();
        using var dir = new TempDirectory();
        DbrxRandomCheckpoint.Write(DbrxPresets.Tiny with { InitializerRange = 0.2 }, dir.Path, seed: 12, ScalarType.BFloat16);
        var options = new DbrxLoadOptions { DType = DbrxDType.Int4, Int4 = DbrxQuantization.WithModules("experts,attention,lm_head", 32) };
        using var onGpu = DbrxModelLoader.Load(dir.Path, options with { Device = "cuda" });
        using var onCpu = DbrxModelLoader.Load(dir.Path, options with { Device = "cpu" });
        Assert.Equal(ScalarType.BFloat16, onGpu.DType);
        using var scope = NewDisposeScope();
        // 300 tokens: attention and lm_head see enough rows to take the dense path, the experts stay on tinygemm.
        var ids = randint(0, DbrxPresets.Tiny.VocabSize, [1, 300], ScalarType.Int64, generator: new TorchSharp.torch.Generator(7));
        var expected = onCpu.ForwardDiagnostics(new DbrxModelInput { InputIds = ids }).Logits.reshape(300, -1);
        var actual = onGpu.ForwardDiagnostics(new DbrxModelInput { InputIds = ids }).Logits.to(ScalarType.Float32, CPU).reshape(300, -1);
        float cosine = nn.functional.cosine_similarity(expected, actual, 1).min().item<float>();
        Assert.True(cosine > 0.999, $"lowest per-position cosine similarity of the logits, CUDA bf16 vs CPU float32: {cosine}");
    }
}
