using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.SemanticKernel.ChatCompletion;

namespace Microsoft.SemanticKernel;

/// <summary>Adds DBRX to a Semantic Kernel <see cref="IKernelBuilder"/>.</summary>
public static class DbrxKernelBuilderExtensions
{
    /// <summary>
    /// Registers DBRX as a keyed singleton <see cref="IChatClient"/> (key = <paramref name="serviceId"/>, or unkeyed
    /// when null) with Semantic Kernel's function invocation, as the SK connectors do, so a kernel's plugins run when
    /// <c>FunctionChoiceBehavior.Auto()</c> or <c>Required()</c> is set. The client is registered as
    /// <c>AddKeyedDbrxChatClient</c> does (Options pattern, the application's logger and meter factories).
    /// </summary>
    public static IKernelBuilder AddDbrxChatClient(this IKernelBuilder builder, Action<Dbrx.Extensions.AI.DbrxChatClientOptions> configure, string? serviceId = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.AddKeyedDbrxChatClient(serviceId, configure).UseKernelFunctionInvocation();
        return builder;
    }

    /// <summary>
    /// Registers DBRX as a keyed singleton <see cref="IChatCompletionService"/> (Semantic Kernel's chat interface),
    /// backed by a client of its own with kernel function invocation.
    /// </summary>
    public static IKernelBuilder AddDbrxChatCompletion(this IKernelBuilder builder, Action<Dbrx.Extensions.AI.DbrxChatClientOptions> configure, string? serviceId = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        // A key of its own, so the client behind the service is not also the kernel's IChatClient.
        var clientKey = new CompletionClientKey(serviceId);
        builder.Services.AddKeyedDbrxChatClient(clientKey, configure).UseKernelFunctionInvocation();
        builder.Services.AddKeyedSingleton<IChatCompletionService>(serviceId, (services, _) =>
            services.GetRequiredKeyedService<IChatClient>(clientKey).AsChatCompletionService(services));
        return builder;
    }

    private sealed record CompletionClientKey(string? ServiceId);
}
