using Yarp.ReverseProxy.Configuration;
using Yarp.ReverseProxy.Health;
using Yarp.ReverseProxy.LoadBalancing;

namespace Dbrx.Gateway;

/// <summary>
/// YARP's configuration for the gateway: one route taking every path to one cluster whose destinations are the
/// replicas (each named by its URL), with the chosen policy, active health checks on <c>/health/ready</c>, passive
/// health on transport failures, and the activity timeout.
/// </summary>
internal static class DbrxGatewayRoutes
{
    public const string ClusterId = "dbrx-replicas", RouteId = "dbrx-replicas-all";

    /// <summary>How long a replica that failed requests is left out before it is tried again (if its active check passes).</summary>
    public static TimeSpan PassiveReactivation(DbrxGatewayOptions options) => options.HealthCheckInterval * 2;

    public static IReadOnlyList<RouteConfig> Routes() =>
        [new RouteConfig { RouteId = RouteId, ClusterId = ClusterId, Match = new RouteMatch { Path = "{**catch-all}" } }];

    public static IReadOnlyList<ClusterConfig> Clusters(DbrxGatewayOptions options) =>
    [
        new ClusterConfig
        {
            ClusterId = ClusterId,
            LoadBalancingPolicy = options.Policy switch
            {
                DbrxGatewayPolicy.RoundRobin => LoadBalancingPolicies.RoundRobin,
                DbrxGatewayPolicy.LeastRequests => LoadBalancingPolicies.LeastRequests,
                _ => PrefixAwarePolicy.PolicyName,
            },
            Destinations = options.Replicas.ToDictionary(replica => replica, replica => new DestinationConfig { Address = replica }),
            HealthCheck = new HealthCheckConfig
            {
                Active = new ActiveHealthCheckConfig
                {
                    Enabled = true,
                    Interval = options.HealthCheckInterval,
                    // A replica busy prefilling on every core still answers readiness, if slowly.
                    Timeout = TimeSpan.FromSeconds(10),
                    Policy = HealthCheckConstants.ActivePolicy.ConsecutiveFailures,
                    Path = "/health/ready",
                },
                Passive = new PassiveHealthCheckConfig
                {
                    Enabled = true,
                    Policy = HealthCheckConstants.PassivePolicy.TransportFailureRate,
                    ReactivationPeriod = PassiveReactivation(options),
                },
            },
            HttpRequest = new Yarp.ReverseProxy.Forwarder.ForwarderRequestConfig { ActivityTimeout = options.ActivityTimeout },
        },
    ];
}
