using Dbrx.Extensions.AI;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers DBRX as the application's <see cref="IChatClient"/>.</summary>
public static class DbrxServiceCollectionExtensions
{
    /// <summary>
    /// Registers a singleton <see cref="IChatClient"/> running DBRX in-process. Options are validated now, so a missing
    /// model folder or an unknown device fails at startup; the model itself loads on first use unless
    /// <see cref="DbrxChatClientOptions.LoadEagerly"/> is set. Chain middleware on the returned builder, for example
    /// <c>.UseFunctionInvocation()</c>, <c>.UseLogging()</c>, <c>.UseOpenTelemetry()</c>.
    /// </summary>
    public static ChatClientBuilder AddDbrxChatClient(this IServiceCollection services, Action<DbrxChatClientOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(services);
        DbrxChatClientOptions options = Configure(configure);
        return services.AddChatClient(provider => new DbrxChatClient(options, provider.GetService<ILoggerFactory>()));
    }

    /// <summary>Registers the client with options bound from a configuration section (for example <c>configuration.GetSection("Dbrx")</c>).</summary>
    public static ChatClientBuilder AddDbrxChatClient(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        return services.AddDbrxChatClient(configuration.Bind);
    }

    /// <summary>Registers a keyed singleton <see cref="IChatClient"/> (resolve it with <c>[FromKeyedServices(key)]</c>).</summary>
    public static ChatClientBuilder AddKeyedDbrxChatClient(this IServiceCollection services, object? serviceKey, Action<DbrxChatClientOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(services);
        DbrxChatClientOptions options = Configure(configure);
        return services.AddKeyedChatClient(serviceKey, provider => new DbrxChatClient(options, provider.GetService<ILoggerFactory>()));
    }

    /// <summary>Registers a keyed client with options bound from a configuration section.</summary>
    public static ChatClientBuilder AddKeyedDbrxChatClient(this IServiceCollection services, object? serviceKey, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        return services.AddKeyedDbrxChatClient(serviceKey, configuration.Bind);
    }

    internal static DbrxChatClientOptions Configure(Action<DbrxChatClientOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(configure);
        var options = new DbrxChatClientOptions();
        configure(options);
        options.Validate();
        return options;
    }
}
