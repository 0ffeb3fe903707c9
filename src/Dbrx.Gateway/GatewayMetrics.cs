using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection;
using Yarp.ReverseProxy;
using Yarp.ReverseProxy.Model;

namespace Dbrx.Gateway;

/// <summary>The instruments of <see cref="DbrxGatewayTelemetry.MeterName"/>.</summary>
internal sealed class GatewayMetrics
{
    private readonly Counter<long> requests;
    private readonly Counter<long> retries;
    private readonly Histogram<int> prefixMatch;

    /// <param name="meters">Where the meter comes from.</param>
    /// <param name="services">Where YARP's state is looked up when the gauge is read: YARP's state depends on the
    /// policies, which record here, so taking it at construction would be a dependency cycle.</param>
    public GatewayMetrics(IMeterFactory meters, IServiceProvider services)
    {
        Meter meter = meters.Create(DbrxGatewayTelemetry.MeterName);
        requests = meter.CreateCounter<long>("dbrx.gateway.requests", "{request}", "Requests sent to each replica, retries included.");
        retries = meter.CreateCounter<long>("dbrx.gateway.retries", "{request}", "Requests sent again to another replica because this one failed before anything of the response was sent.");
        prefixMatch = meter.CreateHistogram<int>("dbrx.gateway.prefix_match", "{token}", "Tokens of the prompt's prefix the chosen replica held, in whole cache blocks.",
            advice: new InstrumentAdvice<int> { HistogramBucketBoundaries = [0, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384] });
        meter.CreateObservableGauge("dbrx.gateway.replica_ready", () => ReplicaStates(services.GetRequiredService<IProxyStateLookup>()), "1", "1 when the replica's health checks pass (or have not run yet), 0 when they fail.");
    }

    public void Sent(string replica) => requests.Add(1, new KeyValuePair<string, object?>("replica", replica));

    public void Retried(string replica) => retries.Add(1, new KeyValuePair<string, object?>("replica", replica));

    public void Matched(int tokens) => prefixMatch.Record(tokens);

    private static IEnumerable<Measurement<int>> ReplicaStates(IProxyStateLookup proxyState)
    {
        if (!proxyState.TryGetCluster(DbrxGatewayRoutes.ClusterId, out ClusterState? cluster))
            yield break;
        foreach (DestinationState destination in cluster.Destinations.Values)
        {
            bool failing = destination.Health.Active == DestinationHealth.Unhealthy || destination.Health.Passive == DestinationHealth.Unhealthy;
            yield return new Measurement<int>(failing ? 0 : 1, new KeyValuePair<string, object?>("replica", destination.DestinationId));
        }
    }
}
