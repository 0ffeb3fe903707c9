using static TorchSharp.torch;

namespace Dbrx.Inference.Tests.Support;

/// <summary>The number of native tensor handles alive, for leak checks (TorchSharp counts every handle).</summary>
internal static class LiveTensors
{
    /// <summary>
    /// Live tensors after finalising unreachable ones: other tests' undisposed temporaries would otherwise be
    /// finalised in the middle of a measurement.
    /// </summary>
    public static long Count()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        return Tensor.TotalCount;
    }
}
