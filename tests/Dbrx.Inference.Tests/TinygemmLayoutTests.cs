using Dbrx.Inference.Modeling;
using Dbrx.Inference.Tests.Support;
using static TorchSharp.torch;

namespace Dbrx.Inference.Tests;

/// <summary>
/// Reading tinygemm's layout back, checked on the CPU against a line-by-line transcription of libtorch's CUDA packing
/// kernel (<c>matrix_to_m16n8k16_Bint4_layout</c>); the CUDA tests check it against the kernel itself.
/// </summary>
public sealed class TinygemmLayoutTests
{
    [Theory]
    [InlineData(16, 128)]
    [InlineData(24, 64)]
    [InlineData(8, 96)]
    [InlineData(32, 384)]
    public void Unpacking_returns_the_values_the_cuda_kernel_packed(int n, int k)
    {
        var random = new Random(n * 1000 + k);
        int[] values = [.. Enumerable.Range(0, n * k).Select(_ => random.Next(16))];
        using var packed = TinygemmPacking.PackLikeTheCudaKernel(values, n, k);
        using var unpacked = TinygemmLayout.Unpack(packed);
        Assert.Equal(new long[] { n, k }, unpacked.shape);
        Assert.Equal(values, unpacked.data<int>().ToArray());
    }

    /// <summary>The dense path for many rows dequantizes the CUDA layout: it must give the weights' own dequantization.</summary>
    [Fact]
    public void Dequantizing_the_cuda_layout_gives_the_dequantized_weights()
    {
        using var weight = randn(48, 128) * 0.05;
        using var quantized = Int4Weights.Quantize(weight, groupSize: 32);
        using var values = quantized.Values();
        var packed = TinygemmPacking.PackLikeTheCudaKernel(values.data<int>().ToArray(), 48, 128);
        using var layout = new Int4PackedWeight(packed, Int4PackedWeight.KernelScalesAndZeros(quantized, ScalarType.Float32, CPU), groupSize: 32);
        using var dequantized = layout.Dequantize(ScalarType.Float32);
        using var expected = quantized.Dequantize();
        TensorAssert.Close(expected, dequantized, 1e-6, "dequantized from the CUDA layout");
    }
}
