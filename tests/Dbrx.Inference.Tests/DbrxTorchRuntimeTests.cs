using Dbrx.Inference.Runtime;
using Dbrx.Inference.Tests.Support;

namespace Dbrx.Inference.Tests;

/// <summary>The CUDA-from-a-local-libtorch logic that can be checked without a GPU: what is missing is named.</summary>
public sealed class DbrxTorchRuntimeTests
{
    [Fact]
    public void Lists_the_libraries_a_folder_lacks()
    {
        using var dir = new TempDirectory();
        File.WriteAllText(dir.File("libc10.so"), "");
        File.WriteAllText(dir.File("libtorch.so"), "");
        Assert.Equal(["libc10_cuda.so", "libtorch_cpu.so", "libtorch_cuda.so"], DbrxTorchRuntime.MissingLibraries(dir.Path));
    }

    [Fact]
    public void Using_an_incomplete_folder_says_what_is_missing()
    {
        using var dir = new TempDirectory();
        var error = Assert.Throws<InvalidOperationException>(() => DbrxTorchRuntime.UseLibTorch(dir.Path));
        Assert.Contains($"The libtorch folder '{dir.Path}' lacks libc10.so, libc10_cuda.so, libtorch_cpu.so, libtorch_cuda.so, libtorch.so", error.Message);
        Assert.Contains("'/no/such/libtorch' (DBRX_LIBTORCH_DIR) is not a folder", Assert.Throws<InvalidOperationException>(() => DbrxTorchRuntime.UseLibTorch("/no/such/libtorch")).Message);
    }

    [Fact]
    public void Requesting_cuda_on_a_cpu_build_explains_how_to_get_it()
    {
        if (TorchSharp.torch.cuda.is_available())
            return;
        var error = Assert.Throws<ArgumentException>(() => DbrxDevices.ParseDevice("cuda:0"));
        Assert.Contains("Device 'cuda:0' was requested:", error.Message);
        Assert.Contains("DBRX_LIBTORCH_DIR", error.Message);
        Assert.Equal(TorchSharp.DeviceType.CPU, DbrxDevices.ParseDevice("auto").type);
    }
}
