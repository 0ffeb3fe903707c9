using Dbrx.Inference.Checkpoints;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;

namespace Dbrx.Rag.Tests.Support;

/// <summary>
/// The tiny random DBRX the samples create (<c>dbrx init --preset tiny</c>), behind the chat client registered as an
/// application does (DI, function invocation). Its answers are noise; prompts, tool calls, constrained JSON, caching
/// and cancellation are the real thing.
/// </summary>
public static class TinyDbrx
{
    public static string ModelPath { get; } = DbrxRandomCheckpoint.EnsureTinySample();

    /// <summary>A service provider with the client; <paramref name="contextLength"/> small makes budgets bite.</summary>
    public static ServiceProvider Services(int contextLength = 2048) =>
        Services(contextLength, configure: null);

    public static ServiceProvider Services(int contextLength, Action<ChatClientBuilder>? configure)
    {
        var services = new ServiceCollection();
        var builder = services.AddDbrxChatClient(options =>
        {
            options.ModelPath = ModelPath;
            options.Device = "cpu";
            options.ContextLength = contextLength;
            options.DropOldestMessages = true;
        });
        builder.UseFunctionInvocation();
        configure?.Invoke(builder);   // added after, so inside the function-invocation loop: it sees every model call
        return services.BuildServiceProvider();
    }
}
