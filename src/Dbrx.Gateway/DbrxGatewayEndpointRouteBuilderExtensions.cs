using Dbrx.Gateway;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace Microsoft.AspNetCore.Builder;

/// <summary>Maps the DBRX gateway.</summary>
public static class DbrxGatewayEndpointRouteBuilderExtensions
{
    /// <summary>
    /// Maps every path not mapped otherwise (map the gateway's own <c>/metrics</c> before) to the replicas, through
    /// YARP's pipeline with the gateway's steps: the API key check, the body read and its prompt's blocks hashed,
    /// broken event streams ended with an error event, retries before the response starts, then YARP's session
    /// affinity, load balancing (the configured policy), passive health checks and forwarding.
    /// </summary>
    /// <param name="endpoints">The application's endpoints (after <c>AddDbrxGateway</c>).</param>
    public static ReverseProxyConventionBuilder MapDbrxGateway(this IEndpointRouteBuilder endpoints)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        IServiceProvider services = endpoints.ServiceProvider;
        ApiKeyCheck apiKeys = services.GetRequiredService<ApiKeyCheck>();
        RequestBodyReader body = services.GetRequiredService<RequestBodyReader>();
        BrokenStreamEnding streams = services.GetRequiredService<BrokenStreamEnding>();
        RetryBeforeResponse retries = services.GetRequiredService<RetryBeforeResponse>();
        return endpoints.MapReverseProxy(pipeline =>
        {
            pipeline.Use(apiKeys.InvokeAsync);
            pipeline.Use(body.InvokeAsync);
            pipeline.Use(streams.InvokeAsync);
            pipeline.Use(retries.InvokeAsync);
            pipeline.UseSessionAffinity();
            pipeline.UseLoadBalancing();
            pipeline.UsePassiveHealthChecks();
        });
    }
}
