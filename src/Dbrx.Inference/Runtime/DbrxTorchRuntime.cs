using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using TorchSharp;

namespace Dbrx.Inference.Runtime;

/// <summary>
/// Makes CUDA usable from a libtorch that is already on the machine (for example a PyTorch install's
/// <c>torch/lib</c>), for when the TorchSharp-cuda packages are not available: the folder named by
/// <c>DBRX_LIBTORCH_DIR</c> (or given to <see cref="UseLibTorch"/>) has its libraries loaded by full path before
/// TorchSharp initialises, so TorchSharp's native wrapper binds to them and CUDA initialises from them.
/// </summary>
/// <remarks>
/// Loading must happen before anything else touches TorchSharp in the process. Dbrx.Inference does it when the
/// assembly loads if <c>DBRX_LIBTORCH_DIR</c> is set; applications that create tensors before using this library call
/// <see cref="UseLibTorch"/> first. Problems are reported when a CUDA device is requested, naming what is missing.
/// </remarks>
public static class DbrxTorchRuntime
{
    /// <summary>The environment variable naming a libtorch folder with CUDA libraries.</summary>
    public const string LibTorchDirectoryVariable = "DBRX_LIBTORCH_DIR";

    /// <summary>The libraries loaded, in dependency order (Linux names; Windows uses the same stems with <c>.dll</c>).</summary>
    public static IReadOnlyList<string> Libraries { get; } = ["c10", "c10_cuda", "torch_cpu", "torch_cuda", "torch"];

    private static readonly object Gate = new();

    /// <summary>The folder whose libraries were loaded, if any.</summary>
    public static string? LoadedFrom { get; private set; }

    /// <summary>Why loading the folder named by the environment variable failed, if it did; reported when CUDA is requested.</summary>
    public static string? LoadError { get; private set; }

    [ModuleInitializer]
    [System.Diagnostics.CodeAnalysis.SuppressMessage("Usage", "CA2255", Justification = "The CUDA libraries must be loaded before TorchSharp initialises, which any use of this library may trigger; loading never throws here, errors surface when CUDA is requested.")]
    internal static void LoadFromEnvironment()
    {
        if (Environment.GetEnvironmentVariable(LibTorchDirectoryVariable) is { Length: > 0 } directory)
            LoadError = Load(directory);
    }

    /// <summary>Loads the CUDA libtorch in <paramref name="directory"/>; call before any other TorchSharp use.</summary>
    /// <exception cref="InvalidOperationException">The folder or some of its libraries are missing or cannot be loaded; the message names them.</exception>
    public static void UseLibTorch(string directory)
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        if (Load(directory) is { } error)
            throw new InvalidOperationException(error);
    }

    /// <summary>The library files <paramref name="directory"/> lacks, by file name.</summary>
    public static IReadOnlyList<string> MissingLibraries(string directory) =>
        [.. Libraries.Select(FileName).Where(name => !File.Exists(Path.Combine(directory, name)))];

    /// <summary>
    /// Makes sure TorchSharp has a libtorch to run on, and otherwise says exactly what the application must add,
    /// instead of TorchSharp's type-initializer trace. Libraries reference TorchSharp alone; the backend is the
    /// application's choice.
    /// </summary>
    /// <exception cref="InvalidOperationException">No backend: the message names the packages and the variable.</exception>
    public static void RequireBackend()
    {
        if (backendReady)
            return;
        // Without a backend, TorchSharp writes its loader's whole trace to standard output before it throws: when its
        // native wrapper cannot be found where a backend package puts it, that output is held back for the duration.
        TextWriter? output = null;
        if (!NativeLibrary.TryLoad("LibTorchSharp", typeof(torch).Assembly, null, out _))
        {
            output = Console.Out;
            Console.SetOut(TextWriter.Null);
        }
        try
        {
            torch.TryInitializeDeviceType(DeviceType.CPU);
            backendReady = true;
        }
        catch (TypeInitializationException e) when (e.TypeName == typeof(torch).FullName)
        {
            throw new InvalidOperationException(
                "Dbrx.Inference runs on libtorch, and this application has no libtorch backend. Add one package reference, version 0.107.0 like the TorchSharp "
                + "package Dbrx.Inference uses: TorchSharp-cpu (CPU), or TorchSharp-cuda-linux / TorchSharp-cuda-windows (NVIDIA GPUs); or set "
                + $"{LibTorchDirectoryVariable} to a CUDA libtorch folder (a PyTorch 2.10 install's torch/lib). TorchSharp said: {FirstLine(e.InnerException?.Message ?? e.Message)}",
                e);
        }
        finally
        {
            if (output is not null)
                Console.SetOut(output);
        }
    }

    private static volatile bool backendReady;

    /// <summary>TorchSharp's first line; the rest is its loader's trace.</summary>
    private static string FirstLine(string message) => message.Split('\n', 2)[0].Trim();

    /// <summary>
    /// Initialises CUDA, or explains why it cannot: no CUDA libtorch was loaded (neither the TorchSharp-cuda package nor
    /// <c>DBRX_LIBTORCH_DIR</c>), loading one failed, or no GPU is visible.
    /// </summary>
    /// <exception cref="InvalidOperationException">CUDA is not usable; the message says why.</exception>
    public static void RequireCuda()
    {
        if (LoadError is not null)
            throw new InvalidOperationException(LoadError);
        RequireBackend();
        bool initialised;
        try
        {
            initialised = torch.TryInitializeDeviceType(DeviceType.CUDA) && torch.cuda.is_available();
        }
        catch (Exception e) when (e is DllNotFoundException or NotSupportedException or TypeInitializationException or ExternalException)
        {
            throw new InvalidOperationException($"CUDA could not be initialised: {e.Message}", e);
        }
        if (!initialised)
            throw new InvalidOperationException(LoadedFrom is null
                ? $"CUDA is not available: this process uses TorchSharp's CPU libtorch. Set {LibTorchDirectoryVariable} to a CUDA libtorch folder (for example a PyTorch install's torch/lib), or build with -p:DbrxTorchBackend=cuda (see README, 'GPUs')."
                : $"CUDA is not available although the libtorch in '{LoadedFrom}' was loaded: no GPU is visible, or its driver is missing or too old.");
    }

    /// <summary>Loads the libraries; returns why it could not, or null.</summary>
    private static string? Load(string directory)
    {
        lock (Gate)
        {
            if (LoadedFrom == directory)
                return null;
            if (!Directory.Exists(directory))
                return $"The libtorch folder '{directory}' ({LibTorchDirectoryVariable}) is not a folder.";
            if (MissingLibraries(directory) is { Count: > 0 } missing)
                return $"The libtorch folder '{directory}' lacks {string.Join(", ", missing)}; it must be a CUDA build of libtorch (PyTorch's torch/lib).";
            foreach (string name in Libraries.Select(FileName))
            {
                string path = Path.Combine(directory, name);
                try
                {
                    NativeLibrary.Load(path);
                }
                catch (Exception e) when (e is DllNotFoundException or BadImageFormatException)
                {
                    return $"Loading '{path}' failed: {e.Message}";
                }
            }
            LoadedFrom = directory;
            return null;
        }
    }

    private static string FileName(string stem) =>
        OperatingSystem.IsWindows() ? stem + ".dll" : OperatingSystem.IsMacOS() ? "lib" + stem + ".dylib" : "lib" + stem + ".so";
}
