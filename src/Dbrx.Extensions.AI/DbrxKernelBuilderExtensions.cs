using Dbrx.Extensions.AI;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.SemanticKernel.ChatCompletion;

namespace Microsoft.SemanticKernel;

/// <summary>Adds DBRX to a Semantic Kernel <see cref="IKernelBuilder"/>.</summary>
public static class DbrxKernelBuilderExtensions
{
    /// <summary>
    /// Registers DBRX as a keyed singleton <see cref="IChatClient"/> (key = <paramref name="serviceId"/>, or unkeyed
    /// when null) with Semantic Kernel's function invocation, as the SK connectors do, so a kernel's plugins run when
    /// <c>FunctionChoiceBehavior.Auto()</c> or <c>Required()</c> is set.
    /// </summary>
    public static IKernelBuilder AddDbrxChatClient(this IKernelBuilder builder, Action<DbrxChatClientOptions> configure, string? serviceId = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        DbrxChatClientOptions options = DbrxServiceCollectionExtensions.Configure(configure);
        builder.Services.AddKeyedSingleton<IChatClient>(serviceId, (services, _) => CreateClient(options, services));
        return builder;
    }

    /// <summary>
    /// Registers DBRX as a keyed singleton <see cref="IChatCompletionService"/> (Semantic Kernel's chat interface),
    /// backed by the same client with kernel function invocation.
    /// </summary>
    public static IKernelBuilder AddDbrxChatCompletion(this IKernelBuilder builder, Action<DbrxChatClientOptions> configure, string? serviceId = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        DbrxChatClientOptions options = DbrxServiceCollectionExtensions.Configure(configure);
        builder.Services.AddKeyedSingleton<IChatCompletionService>(serviceId, (services, _) => CreateClient(options, services).AsChatCompletionService(services));
        return builder;
    }

    private static IChatClient CreateClient(DbrxChatClientOptions options, IServiceProvider services) =>
        new DbrxChatClient(options)
            .AsBuilder()
            .UseKernelFunctionInvocation(services.GetService<ILoggerFactory>())
            .Build(services);
}
