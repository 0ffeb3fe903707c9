using System.Diagnostics;

namespace Dbrx.Rag.Tests.Support;

/// <summary>Runs the sample as a user would, as a separate process (<c>dotnet Dbrx.Rag.dll ...</c>).</summary>
public static class RagProcess
{
    public sealed record Result(int ExitCode, string Out, string Error);

    public static Process Start(params string[] args)
    {
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "Dbrx.Rag.dll"));
        foreach (string arg in args)
            start.ArgumentList.Add(arg);
        return Process.Start(start)!;
    }

    public static async Task<Result> Run(params string[] args)
    {
        using var process = Start(args);
        process.StandardInput.Close();
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        await process.WaitForExitAsync(timeout.Token);
        return new Result(process.ExitCode, await output, await error);
    }
}
