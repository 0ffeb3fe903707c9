using Dbrx.Gateway;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Yarp.ReverseProxy.LoadBalancing;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers the DBRX gateway: YARP with the replicas as destinations and the gateway's policy and checks.</summary>
public static class DbrxGatewayServiceCollectionExtensions
{
    /// <summary>
    /// Adds the gateway's services (validated options, YARP configured from them, the metrics scraper, the KV-cache
    /// event subscriber when endpoints are given, the <c>DbrxPrefixAware</c> policy); map it with <c>MapDbrxGateway</c>.
    /// </summary>
    /// <param name="services">The application's services.</param>
    /// <param name="configure">Sets the options.</param>
    /// <exception cref="ArgumentException">An option is invalid (the message names it).</exception>
    public static IServiceCollection AddDbrxGateway(this IServiceCollection services, Action<DbrxGatewayOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configure);
        var options = new DbrxGatewayOptions();
        configure(options);
        options.Validate();
        bool fromEvents = options.KvEventEndpoints.Count > 0;
        services.AddSingleton(options);
        services.AddHttpClient();
        services.AddSingleton(new ReplicaPrefixIndex(options.MaxBlocksPerReplica, fromEvents));
        services.AddSingleton<ReplicaLoadScraper>();
        services.AddHostedService(provider => provider.GetRequiredService<ReplicaLoadScraper>());
        services.AddSingleton<GatewayMetrics>();
        services.AddHostedService<PassiveHealthRelease>();
        services.TryAddSingleton<TimeProvider>(TimeProvider.System);
        services.AddSingleton<ILoadBalancingPolicy, PrefixAwarePolicy>();
        if (options.Policy == DbrxGatewayPolicy.PrefixAware)
            services.AddSingleton<IPromptRenderer>(new LocalPromptRenderer(options.ModelPath!, options.SystemPrompt));
        services.AddSingleton(provider => new RequestBodyReader(options, provider.GetService<IPromptRenderer>()));
        services.AddSingleton<RetryBeforeResponse>();
        services.AddSingleton<BrokenStreamEnding>();
        services.AddSingleton<ApiKeyCheck>();
        if (fromEvents)
        {
            services.AddHostedService(provider =>
            {
                ReplicaPrefixIndex index = provider.GetRequiredService<ReplicaPrefixIndex>();
                return new KvEventSubscriber(options.Replicas.Zip(options.KvEventEndpoints), index, index.Forget,
                    provider.GetRequiredService<ILoggerFactory>().CreateLogger<KvEventSubscriber>());
            });
        }
        services.AddReverseProxy().LoadFromMemory(DbrxGatewayRoutes.Routes(), DbrxGatewayRoutes.Clusters(options));
        return services;
    }
}
