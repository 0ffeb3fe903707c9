using System.Globalization;

namespace Dbrx.Cli;

/// <summary>Byte sizes as the commands read them (<c>500MB</c>, <c>5GB</c>, <c>1.5GiB</c>) and print them (<c>1.5 GiB</c>).</summary>
internal static class ByteSize
{
    /// <summary>Parses a size like <c>500MB</c>, <c>5GB</c>, <c>1.5GiB</c> or a plain byte count.</summary>
    /// <param name="text">The value given.</param>
    /// <param name="option">The option it was given to, for the error message.</param>
    /// <exception cref="ArgumentException">The value is not a positive size.</exception>
    public static long Parse(string text, string option)
    {
        string t = text.Trim().ToUpperInvariant();
        (string suffix, double factor)[] units = [("GIB", 1L << 30), ("MIB", 1L << 20), ("KIB", 1L << 10), ("GB", 1e9), ("MB", 1e6), ("KB", 1e3), ("B", 1)];
        foreach (var (suffix, factor) in units)
        {
            if (t.EndsWith(suffix, StringComparison.Ordinal) && double.TryParse(t[..^suffix.Length], NumberStyles.Float, CultureInfo.InvariantCulture, out double value) && value > 0)
                return (long)(value * factor);
        }
        if (long.TryParse(t, NumberStyles.Integer, CultureInfo.InvariantCulture, out long bytes) && bytes > 0)
            return bytes;
        throw new ArgumentException($"{option} '{text}' is not a size; write it like 500MB or 5GB.");
    }

    /// <summary>A size in GiB, MiB or KiB with one decimal.</summary>
    public static string Format(long bytes) => bytes switch
    {
        >= 1L << 30 => $"{bytes / (double)(1L << 30):F1} GiB",
        >= 1L << 20 => $"{bytes / (double)(1L << 20):F1} MiB",
        _ => $"{bytes / 1024.0:F1} KiB",
    };
}
