using System.Diagnostics;
using System.Globalization;

namespace Dbrx.Cli.Bench;

/// <summary>
/// What the benchmark reports of the GPU it ran on, from <c>nvidia-smi</c> (TorchSharp exposes neither device names
/// nor memory statistics): the card's name and the memory in use.
/// </summary>
internal static class NvidiaSmi
{
    /// <summary>
    /// The product name of CUDA device <paramref name="index"/> as the process sees it (through <c>CUDA_VISIBLE_DEVICES</c>,
    /// whose entries nvidia-smi's <c>-i</c> accepts as they are: indices or UUIDs), such as "NVIDIA H200".
    /// </summary>
    /// <exception cref="InvalidOperationException">nvidia-smi is missing or fails.</exception>
    public static string DeviceName(int index)
    {
        string[]? visible = Environment.GetEnvironmentVariable("CUDA_VISIBLE_DEVICES")?.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        string id = visible is { Length: > 0 } ? visible[Math.Min(index, visible.Length - 1)] : index.ToString(CultureInfo.InvariantCulture);
        return Run($"--query-gpu=name --format=csv,noheader -i {id}").Trim();
    }

    /// <summary>
    /// GPU memory this process holds on all devices: what the caching allocator has reserved (its high-water mark,
    /// since it keeps freed blocks for reuse) plus the CUDA context. Null when nvidia-smi does not list this process,
    /// as in a container whose process ids differ from the host's; <see cref="UsedOnDevices"/> is the fallback there.
    /// </summary>
    /// <exception cref="InvalidOperationException">nvidia-smi is missing or fails.</exception>
    public static long? UsedByThisProcess()
    {
        string pid = Environment.ProcessId.ToString(CultureInfo.InvariantCulture);
        var mine = Run("--query-compute-apps=pid,used_memory --format=csv,noheader,nounits")
            .Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(line => line.Split(',', StringSplitOptions.TrimEntries))
            .Where(fields => fields.Length == 2 && fields[0] == pid)
            .ToList();
        return mine.Count == 0 ? null : mine.Sum(fields => long.Parse(fields[1], CultureInfo.InvariantCulture) * 1024 * 1024);
    }

    /// <summary>GPU memory in use on all visible devices, by every process.</summary>
    /// <exception cref="InvalidOperationException">nvidia-smi is missing or fails.</exception>
    public static long UsedOnDevices() =>
        Run("--query-gpu=memory.used --format=csv,noheader,nounits")
            .Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Sum(line => long.Parse(line, CultureInfo.InvariantCulture) * 1024 * 1024);

    private static string Run(string arguments)
    {
        var start = new ProcessStartInfo("nvidia-smi", arguments) { RedirectStandardOutput = true, RedirectStandardError = true };
        try
        {
            using var process = Process.Start(start)!;
            var error = process.StandardError.ReadToEndAsync();
            string output = process.StandardOutput.ReadToEnd();
            process.WaitForExit();
            return process.ExitCode == 0 ? output : throw new InvalidOperationException($"nvidia-smi {arguments} failed ({error.Result.Trim()}).");
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            throw new InvalidOperationException("nvidia-smi was not found.", e);
        }
    }
}
