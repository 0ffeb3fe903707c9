using System.Diagnostics;
using System.Globalization;
using Dbrx.Inference.Modeling;
using static TorchSharp.torch;

namespace Dbrx.Inference.Runtime;

/// <summary>
/// Free memory of the visible CUDA devices, for planning a placement. TorchSharp exposes no memory statistics, so
/// this asks <c>nvidia-smi</c> (installed with the NVIDIA driver).
/// </summary>
public static class AcceleratorMemory
{
    /// <summary>Free memory of each visible CUDA device, in device index order.</summary>
    /// <exception cref="InvalidOperationException">nvidia-smi is missing or fails; the message says to pass a device map instead.</exception>
    public static IReadOnlyList<DeviceMemory> Query()
    {
        var start = new ProcessStartInfo("nvidia-smi", "--query-gpu=index,memory.free --format=csv,noheader,nounits")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        try
        {
            using var process = Process.Start(start)!;
            string output = process.StandardOutput.ReadToEnd();
            process.WaitForExit();
            if (process.ExitCode != 0)
                throw new InvalidOperationException($"nvidia-smi failed ({process.StandardError.ReadToEnd().Trim()}).");
            return Parse(output);
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            throw new InvalidOperationException("Planning device \"auto\" needs nvidia-smi to read each GPU's free memory, and it was not found; pass an explicit device map instead.", e);
        }
    }

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
        visibleDevices ??= Environment.GetEnvironmentVariable("CUDA_VISIBLE_DEVICES");
        IEnumerable<int> order = string.IsNullOrWhiteSpace(visibleDevices)
            ? free.Keys.Order()
            : visibleDevices.Split(',', StringSplitOptions.TrimEntries).Select(v => int.TryParse(v, CultureInfo.InvariantCulture, out int i) ? i : -1).Where(free.ContainsKey);
        return order.Select((physical, logical) => new DeviceMemory(new Device(TorchSharp.DeviceType.CUDA, logical), free[physical])).ToList();
    }
}
