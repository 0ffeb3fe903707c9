using System.Runtime.CompilerServices;
using Dbrx.Inference.Runtime;

namespace Dbrx.Tests.Shared;

/// <summary>
/// On the GPU machine DBRX_LIBTORCH_DIR names PyTorch's CUDA libtorch, which must be loaded before any test touches
/// TorchSharp; touching DbrxTorchRuntime runs Dbrx.Inference's loader first. Linked into every test assembly.
/// </summary>
internal static class LoadCudaLibTorchFirst
{
    [ModuleInitializer]
    internal static void Load() => _ = DbrxTorchRuntime.LoadedFrom;
}
