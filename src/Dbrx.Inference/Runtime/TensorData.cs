using static TorchSharp.torch;

namespace Dbrx.Inference.Runtime;

/// <summary>Copies small tensors to managed arrays (the host side of a device sync).</summary>
/// <remarks>
/// Every intermediate tensor is a named <c>using</c> local: callers need not be inside a dispose scope, and a tensor
/// that is only the receiver of the next call could otherwise be finalized while libtorch reads it.
/// </remarks>
internal static class TensorData
{
    /// <summary>The tensor's values as int64, in row-major order.</summary>
    public static long[] ToLongArray(this Tensor tensor)
    {
        using var converted = tensor.to(ScalarType.Int64, CPU);
        using var host = converted.contiguous();
        using var accessor = host.data<long>();
        return accessor.ToArray();
    }

    /// <summary>The tensor's values as float32, in row-major order.</summary>
    public static float[] ToFloatArray(this Tensor tensor)
    {
        using var converted = tensor.to(ScalarType.Float32, CPU);
        using var host = converted.contiguous();
        using var accessor = host.data<float>();
        return accessor.ToArray();
    }
}
