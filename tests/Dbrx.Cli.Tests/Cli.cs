using Dbrx.Tests.Shared;
using Result = Dbrx.Tests.Shared.DotnetProcess.Result;

namespace Dbrx.Cli.Tests;

/// <summary>Runs the built <c>dbrx</c> tool (and the chat sample) as a user would, as a separate process.</summary>
internal static class Cli
{
    public static Task<Result> Run(params string[] args) => RunWithInput(null, args);

    public static Task<Result> RunWithInput(string? input, params string[] args) => DotnetProcess.RunAsync("dbrx.dll", input, args);

    /// <summary>Runs <c>samples/Dbrx.Chat</c>, the README's main command, with <paramref name="input"/> typed in.</summary>
    public static Task<Result> RunChatSample(string? input, params string[] args) => DotnetProcess.RunAsync("Dbrx.Chat.dll", input, args);

    public static string GoldenModel => Path.Combine(AppContext.BaseDirectory, "TestData", "golden", "tiny-dbrx");
}
