using System.Diagnostics;

namespace Dbrx.Cli.Tests;

/// <summary>Runs the built <c>dbrx</c> tool (and the chat sample) as a user would, as a separate process.</summary>
internal static class Cli
{
    public sealed record Result(int ExitCode, string Out, string Error);

    public static Task<Result> Run(params string[] args) => RunWithInput(null, args);

    public static Task<Result> RunWithInput(string? input, params string[] args) => Start("dbrx.dll", input, null, args);

    /// <summary>Runs with extra environment variables (for example allocator settings a test needs).</summary>
    public static Task<Result> RunWithEnvironment(IReadOnlyDictionary<string, string> environment, params string[] args) => Start("dbrx.dll", null, environment, args);

    /// <summary>Runs <c>samples/Dbrx.Chat</c>, the README's main command, with <paramref name="input"/> typed in.</summary>
    public static Task<Result> RunChatSample(string? input, params string[] args) => Start("Dbrx.Chat.dll", input, null, args);

    private static async Task<Result> Start(string assembly, string? input, IReadOnlyDictionary<string, string>? environment, string[] args)
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
        using var process = Process.Start(start)!;
        if (input is not null)
            await process.StandardInput.WriteAsync(input);
        process.StandardInput.Close();
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        await process.WaitForExitAsync(timeout.Token);
        return new Result(process.ExitCode, await output, await error);
    }

    public static string GoldenModel => Path.Combine(AppContext.BaseDirectory, "TestData", "golden", "tiny-dbrx");
}
