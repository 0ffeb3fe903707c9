using static TorchSharp.torch;

namespace Dbrx.Inference.Runtime;

/// <summary>Parses device names as users write them (<c>cpu</c>, <c>cuda</c>, <c>cuda:1</c>, <c>auto</c>) and names dtypes (see <see cref="DbrxDTypes"/> for reading them).</summary>
public static class DbrxDevices
{
    /// <summary>
    /// Resolves a device name. <c>auto</c> is the first CUDA device when CUDA is available, else the CPU.
    /// </summary>
    /// <exception cref="ArgumentException">The name is not a device, or names a CUDA device that is not there.</exception>
    /// <exception cref="InvalidOperationException">The application has no libtorch backend (see <see cref="DbrxTorchRuntime.RequireBackend"/>).</exception>
    public static Device ParseDevice(string name)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        DbrxTorchRuntime.RequireBackend();
        string text = name.Trim().ToLowerInvariant();
        if (text == "cpu")
            return CPU;
        if (text == "auto")
            return CudaAvailable() ? new Device(TorchSharp.DeviceType.CUDA, 0) : CPU;
        if (text == "cuda" || text.StartsWith("cuda:", StringComparison.Ordinal))
        {
            int index = 0;
            if (text.Length > 4 && (!int.TryParse(text.AsSpan(5), out index) || index < 0))
                throw new ArgumentException($"Device '{name}' is not valid; write cuda or cuda:N with N a GPU index.", nameof(name));
            try
            {
                DbrxTorchRuntime.RequireCuda();
            }
            catch (InvalidOperationException e)
            {
                throw new ArgumentException($"Device '{name}' was requested: {e.Message}", nameof(name), e);
            }
            int count = cuda.device_count();
            if (index >= count)
                throw new ArgumentException($"Device '{name}' does not exist: this machine has {count} CUDA device(s).", nameof(name));
            return new Device(TorchSharp.DeviceType.CUDA, index);
        }
        throw new ArgumentException($"Unknown device '{name}'; use cpu, cuda, cuda:N or auto.", nameof(name));
    }

    /// <summary>The conventional name of a dtype (<c>float32</c>, <c>bfloat16</c>, <c>float16</c>).</summary>
    public static string DTypeName(ScalarType dtype) => dtype switch
    {
        ScalarType.Float32 => "float32",
        ScalarType.BFloat16 => "bfloat16",
        ScalarType.Float16 => "float16",
        _ => dtype.ToString().ToLowerInvariant(),
    };

    private static bool CudaAvailable()
    {
        try
        {
            DbrxTorchRuntime.RequireCuda();
            return true;
        }
        catch (InvalidOperationException)
        {
            return false;
        }
    }
}
