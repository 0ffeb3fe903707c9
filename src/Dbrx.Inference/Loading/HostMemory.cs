namespace Dbrx.Inference.Loading;

/// <summary>Memory the operating system can give this process now.</summary>
internal static class HostMemory
{
    /// <summary>Available bytes: <c>MemAvailable</c> from /proc/meminfo on Linux, else what the GC reports.</summary>
    public static long Available()
    {
        if (OperatingSystem.IsLinux() && File.Exists("/proc/meminfo"))
        {
            foreach (string line in File.ReadLines("/proc/meminfo"))
            {
                if (line.StartsWith("MemAvailable:", StringComparison.Ordinal)
                    && long.TryParse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], System.Globalization.CultureInfo.InvariantCulture, out long kib))
                    return kib * 1024;
            }
        }
        return GC.GetGCMemoryInfo().TotalAvailableMemoryBytes;
    }
}
