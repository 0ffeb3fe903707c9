using System.Diagnostics;

namespace Dbrx.Tests.Shared;

/// <summary>
/// Runs a program built next to the tests (<c>dotnet X.dll ...</c>) as a user would, as a separate process, with its
/// standard streams redirected. Linked into the test assemblies that run the tool and the samples.
/// </summary>
internal static class DotnetProcess
{
    /// <summary>What a finished run printed, and its exit code.</summary>
    public sealed record Result(int ExitCode, string Out, string Error);

    /// <summary>Starts <paramref name="assembly"/> (a file in the test's output folder) with <paramref name="args"/>.</summary>
    public static Process Start(string assembly, IEnumerable<string> args, IReadOnlyDictionary<string, string>? environment = null)
    {
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        foreach (var (name, value) in environment ?? new Dictionary<string, string>())
            start.Environment[name] = value;
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, assembly));
        foreach (string arg in args)
            start.ArgumentList.Add(arg);
        return Process.Start(start)!;
    }

    /// <summary>Runs it to the end (three minutes at most), with <paramref name="input"/> typed in, then end of input.</summary>
    public static async Task<Result> RunAsync(string assembly, string? input, IEnumerable<string> args, IReadOnlyDictionary<string, string>? environment = null)
    {
        using var process = Start(assembly, args, environment);
        if (input is not null)
            await process.StandardInput.WriteAsync(input);
        process.StandardInput.Close();
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        await process.WaitForExitAsync(timeout.Token);
        return new Result(process.ExitCode, await output, await error);
    }
}
