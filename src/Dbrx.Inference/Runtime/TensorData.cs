using static TorchSharp.torch;

namespace Dbrx.Inference.Runtime;

/// <summary>Copies small tensors to managed arrays (the host side of a device sync).</summary>
internal static class TensorData
{
    /// <summary>The tensor's values as int64, in row-major order.</summary>
    public static long[] ToLongArray(this Tensor tensor)
    {
        using var host = tensor.to(ScalarType.Int64, CPU).contiguous();
        using var accessor = host.data<long>();
        return accessor.ToArray();
    }

    /// <summary>The tensor's values as float32, in row-major order.</summary>
    public static float[] ToFloatArray(this Tensor tensor)
    {
        using var host = tensor.to(ScalarType.Float32, CPU).contiguous();
        using var accessor = host.data<float>();
        return accessor.ToArray();
    }
}
