using System.Diagnostics;
using System.Globalization;
using static TorchSharp.torch;

namespace Dbrx.Inference.Loading;

/// <summary>
/// Free memory of the visible CUDA devices, for the "auto" placement. TorchSharp exposes no memory statistics, so this
/// asks <c>nvidia-smi</c> (installed with the NVIDIA driver).
/// </summary>
internal static class AcceleratorMemory
{
    /// <summary>Free memory of each visible CUDA device, in device index order.</summary>
    /// <exception cref="InvalidOperationException">nvidia-smi is missing or fails; the message says to pass a device map instead.</exception>
    public static IReadOnlyList<DeviceMemory> Query() => Parse(NvidiaSmi("--query-gpu=index,memory.free --format=csv,noheader,nounits"));

    /// <summary>Parses nvidia-smi's <c>index, memory.free</c> CSV (MiB), honouring <c>CUDA_VISIBLE_DEVICES</c> order.</summary>
    public static IReadOnlyList<DeviceMemory> Parse(string csv, string? visibleDevices = null)
    {
        var free = new Dictionary<int, long>();
        foreach (string line in csv.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            string[] fields = line.Split(',', StringSplitOptions.TrimEntries);
            if (fields.Length == 2 && int.TryParse(fields[0], CultureInfo.InvariantCulture, out int index) && long.TryParse(fields[1], CultureInfo.InvariantCulture, out long mib))
                free[index] = mib * 1024 * 1024;
        }
        return VisibleOrder(free.Keys, visibleDevices)
            .Select((physical, logical) => new DeviceMemory(new Device(TorchSharp.DeviceType.CUDA, logical), free[physical])).ToList();
    }

    /// <summary>
    /// Of the <paramref name="physical"/> device indices nvidia-smi reports, those CUDA shows and in its logical order:
    /// as <c>CUDA_VISIBLE_DEVICES</c> (or <paramref name="visibleDevices"/>) lists them, else all in order.
    /// </summary>
    private static IEnumerable<int> VisibleOrder(IEnumerable<int> physical, string? visibleDevices)
    {
        visibleDevices ??= Environment.GetEnvironmentVariable("CUDA_VISIBLE_DEVICES");
        var present = physical.ToHashSet();
        return string.IsNullOrWhiteSpace(visibleDevices)
            ? present.Order()
            : visibleDevices.Split(',', StringSplitOptions.TrimEntries).Select(v => int.TryParse(v, CultureInfo.InvariantCulture, out int i) ? i : -1).Where(present.Contains);
    }

    private static string NvidiaSmi(string arguments)
    {
        var start = new ProcessStartInfo("nvidia-smi", arguments)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        try
        {
            using var process = Process.Start(start)!;
            var error = process.StandardError.ReadToEndAsync();
            string output = process.StandardOutput.ReadToEnd();
            process.WaitForExit();
            if (process.ExitCode != 0)
                throw new InvalidOperationException($"nvidia-smi {arguments} failed ({error.Result.Trim()}).");
            return output;
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            throw new InvalidOperationException("nvidia-smi, which reports the GPUs' memory, was not found; for device \"auto\" pass an explicit device map instead.", e);
        }
    }
}
