using Dbrx.Inference.Runtime;

namespace Dbrx.Inference.Tests.Support;

/// <summary>For tests that need a GPU: CUDA comes from TorchSharp-cuda or DBRX_LIBTORCH_DIR (see README, 'GPUs').</summary>
internal static class Cuda
{
    /// <summary>Skips the test, with the reason, where there is no CUDA.</summary>
    public static void RequireOrSkip()
    {
        try
        {
            DbrxTorchRuntime.RequireCuda();
        }
        catch (InvalidOperationException e)
        {
            Assert.Skip($"No CUDA here: {e.Message}");
        }
    }
}
