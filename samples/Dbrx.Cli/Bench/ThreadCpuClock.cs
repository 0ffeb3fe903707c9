using System.Diagnostics;
using System.Runtime.InteropServices;

namespace Dbrx.Cli.Bench;

/// <summary>
/// The CPU time this thread has used, in nanoseconds (Linux's CLOCK_THREAD_CPUTIME_ID): time spent on one core,
/// unaffected by other processes on a shared machine. Elsewhere it falls back to the wall clock.
/// </summary>
internal static partial class ThreadCpuClock
{
    private const int ThreadCpuTimeId = 3;

    public static bool IsCpuTime { get; } = OperatingSystem.IsLinux() && TryRead(out _);

    public static long Nanoseconds => IsCpuTime && TryRead(out long value) ? value : (long)(Stopwatch.GetTimestamp() * (1e9 / Stopwatch.Frequency));

    private static bool TryRead(out long nanoseconds)
    {
        try
        {
            if (clock_gettime(ThreadCpuTimeId, out Timespec time) == 0)
            {
                nanoseconds = time.Seconds * 1_000_000_000 + time.Nanoseconds;
                return true;
            }
        }
        catch (DllNotFoundException)
        {
        }
        catch (EntryPointNotFoundException)
        {
        }
        nanoseconds = 0;
        return false;
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct Timespec
    {
        public long Seconds;
        public long Nanoseconds;
    }

    [LibraryImport("libc", SetLastError = false)]
    private static partial int clock_gettime(int clock, out Timespec time);
}
