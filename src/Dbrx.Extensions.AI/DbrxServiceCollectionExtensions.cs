using System.Diagnostics.Metrics;
using Dbrx.Extensions.AI;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers DBRX as the application's <see cref="IChatClient"/>.</summary>
/// <remarks>
/// The Options pattern: registering reads no file and starts no native code. The options
/// (<see cref="DbrxChatClientOptions"/>, a named option per keyed client) are validated when the host starts
/// (<c>ValidateOnStart</c>), by <see cref="DbrxChatClientOptions.Validate"/> with its file checks and messages, or when
/// the client is first resolved without a host. The client is a singleton, also resolvable as <see cref="DbrxChatClient"/>
/// (keyed like the <see cref="IChatClient"/>); with <see cref="DbrxChatClientOptions.LoadEagerly"/> a hosted service
/// loads the model once the host has started, logging its progress, and <see cref="DbrxChatClient.ModelState"/> says
/// when it is ready.
/// </remarks>
public static class DbrxServiceCollectionExtensions
{
    /// <summary>
    /// Registers a singleton <see cref="IChatClient"/> running DBRX in-process. Chain middleware on the returned builder,
    /// for example <c>.UseFunctionInvocation()</c>, <c>.UseLogging()</c>, <c>.UseOpenTelemetry()</c>.
    /// </summary>
    public static ChatClientBuilder AddDbrxChatClient(this IServiceCollection services, Action<DbrxChatClientOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(configure);
        return services.AddDbrxChatClient(serviceKey: null, options => options.Configure(configure));
    }

    /// <summary>Registers the client with options bound from a configuration section (for example <c>configuration.GetSection("Dbrx")</c>).</summary>
    public static ChatClientBuilder AddDbrxChatClient(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        return services.AddDbrxChatClient(serviceKey: null, options => options.Bind(configuration));
    }

    /// <summary>Registers a keyed singleton <see cref="IChatClient"/> (resolve it with <c>[FromKeyedServices(key)]</c>).</summary>
    public static ChatClientBuilder AddKeyedDbrxChatClient(this IServiceCollection services, object? serviceKey, Action<DbrxChatClientOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(configure);
        return services.AddDbrxChatClient(serviceKey, options => options.Configure(configure));
    }

    /// <summary>Registers a keyed client with options bound from a configuration section.</summary>
    public static ChatClientBuilder AddKeyedDbrxChatClient(this IServiceCollection services, object? serviceKey, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        return services.AddDbrxChatClient(serviceKey, options => options.Bind(configuration));
    }

    /// <summary>The name of the options of the client registered under <paramref name="serviceKey"/>.</summary>
    internal static string OptionsName(object? serviceKey) => serviceKey is null ? Options.Options.DefaultName : $"Dbrx:{serviceKey}";

    private static ChatClientBuilder AddDbrxChatClient(this IServiceCollection services, object? serviceKey, Action<OptionsBuilder<DbrxChatClientOptions>> configure)
    {
        ArgumentNullException.ThrowIfNull(services);
        string name = OptionsName(serviceKey);
        OptionsBuilder<DbrxChatClientOptions> options = services.AddOptions<DbrxChatClientOptions>(name);
        configure(options);
        options.ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<DbrxChatClientOptions>, DbrxChatClientOptionsValidator>());

        DbrxChatClient Create(IServiceProvider provider) => new(
            provider.GetRequiredService<IOptionsMonitor<DbrxChatClientOptions>>().Get(name),
            provider.GetService<ILoggerFactory>(),
            provider.GetService<IMeterFactory>());
        if (serviceKey is null)
            services.AddSingleton(Create);
        else
            services.AddKeyedSingleton(serviceKey, (provider, _) => Create(provider));
        services.AddSingleton<IHostedService>(provider => new DbrxModelWarmup(
            serviceKey is null ? provider.GetRequiredService<DbrxChatClient>() : provider.GetRequiredKeyedService<DbrxChatClient>(serviceKey),
            provider.GetRequiredService<IOptionsMonitor<DbrxChatClientOptions>>().Get(name).LoadEagerly,
            provider.GetRequiredService<IHostApplicationLifetime>(),
            provider.GetService<ILoggerFactory>()?.CreateLogger<DbrxChatClient>()));
        return serviceKey is null
            ? services.AddChatClient(provider => provider.GetRequiredService<DbrxChatClient>())
            : services.AddKeyedChatClient(serviceKey, provider => provider.GetRequiredKeyedService<DbrxChatClient>(serviceKey));
    }
}
