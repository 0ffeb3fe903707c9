using Microsoft.Extensions.Hosting;
using Yarp.ReverseProxy;
using Yarp.ReverseProxy.Health;
using Yarp.ReverseProxy.Model;

namespace Dbrx.Gateway;

/// <summary>
/// Lets a replica that passive health marked failing back in once its active check passes and the reactivation period
/// has gone by. Measured here (<c>dbrx bench --gateway --faults</c>): after a replica was killed mid-replay and
/// restarted, YARP 2.3's own passive reactivation left it Unhealthy for more than 30 s while its readiness probe
/// passed, so a restarted replica never rejoined. Every health-check interval, a replica that has been passively
/// Unhealthy for longer than the reactivation period while actively Healthy is set to Unknown, as YARP's
/// reactivation would.
/// </summary>
internal sealed class PassiveHealthRelease(DbrxGatewayOptions options, IProxyStateLookup proxyState, IDestinationHealthUpdater health, TimeProvider time) : BackgroundService
{
    private readonly Dictionary<string, DateTimeOffset> unhealthySince = [];

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(options.HealthCheckInterval, time);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
                Release();
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // The host is stopping.
        }
    }

    private void Release()
    {
        if (!proxyState.TryGetCluster(DbrxGatewayRoutes.ClusterId, out ClusterState? cluster))
            return;
        DateTimeOffset now = time.GetUtcNow();
        foreach (DestinationState destination in cluster.Destinations.Values)
        {
            if (destination.Health.Passive != DestinationHealth.Unhealthy)
            {
                unhealthySince.Remove(destination.DestinationId);
                continue;
            }
            DateTimeOffset since = unhealthySince.TryGetValue(destination.DestinationId, out var seen) ? seen : unhealthySince[destination.DestinationId] = now;
            if (destination.Health.Active == DestinationHealth.Healthy && now - since >= DbrxGatewayRoutes.PassiveReactivation(options))
            {
                health.SetPassive(cluster, destination, DestinationHealth.Unknown, DbrxGatewayRoutes.PassiveReactivation(options));
                unhealthySince.Remove(destination.DestinationId);
            }
        }
    }
}
