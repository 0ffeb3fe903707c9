using Dbrx.Inference.Runtime;
using static TorchSharp.torch;

namespace Dbrx.Inference.Tests.Support;

/// <summary>Tensor comparisons that report where and by how much two tensors differ.</summary>
internal static class TensorAssert
{
    /// <summary>Asserts equal shapes and every element within <paramref name="tolerance"/> (absolute).</summary>
    public static void Close(Tensor expected, Tensor actual, double tolerance, string what)
    {
        Assert.True(expected.shape.SequenceEqual(actual.shape),
            $"{what}: shape [{string.Join(", ", actual.shape)}], expected [{string.Join(", ", expected.shape)}]");
        float[] e = expected.ToFloatArray(), a = actual.ToFloatArray();
        double worst = 0;
        int at = -1;
        for (int i = 0; i < e.Length; i++)
        {
            double diff = Math.Abs((double)e[i] - a[i]);
            if (double.IsNaN(diff) || diff > worst)
            {
                worst = double.IsNaN(diff) ? double.PositiveInfinity : diff;
                at = i;
            }
        }
        Assert.True(worst <= tolerance, $"{what}: max |diff| = {worst:E3} at flat index {at} (expected {(at >= 0 ? e[at] : 0)}, got {(at >= 0 ? a[at] : 0)}), tolerance {tolerance:E1}");
    }

    /// <summary>Asserts the same dtype, shape and every element bit-identical.</summary>
    public static void Identical(Tensor expected, Tensor actual, string what)
    {
        Assert.True(expected.dtype == actual.dtype, $"{what}: dtype {actual.dtype}, expected {expected.dtype}");
        Assert.True(expected.shape.SequenceEqual(actual.shape), $"{what}: shape [{string.Join(", ", actual.shape)}], expected [{string.Join(", ", expected.shape)}]");
        using var equal = expected.eq(actual);
        using var same = equal.all();
        Assert.True(same.item<bool>(), $"{what}: values differ");
    }
}
