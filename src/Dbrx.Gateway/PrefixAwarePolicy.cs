using Microsoft.AspNetCore.Http;
using Yarp.ReverseProxy.LoadBalancing;
using Yarp.ReverseProxy.Model;

namespace Dbrx.Gateway;

/// <summary>
/// YARP's load-balancing policy <c>DbrxPrefixAware</c>. YARP hands it the replicas that are ready (active and passive
/// health); of those it keeps the ones whose scraped queue is not full, then the ones a request would not take above
/// c times the average in flight (bounded load: <see cref="DbrxGatewayOptions.LoadFactor"/>), and picks the one
/// holding the longest run of the prompt's blocks (<see cref="ReplicaPrefixIndex"/>); ties, including a prompt seen by
/// none, go to the fewest in flight, then the shortest queue, then the fewest requests sent so far.
/// </summary>
internal sealed class PrefixAwarePolicy(DbrxGatewayOptions options, ReplicaPrefixIndex index, ReplicaLoadScraper loads, GatewayMetrics metrics) : ILoadBalancingPolicy
{
    public const string PolicyName = "DbrxPrefixAware";

    private readonly Dictionary<string, long> sent = [];
    private readonly HashSet<string> down = [];
    private readonly Lock sync = new();

    public string Name => PolicyName;

    public DestinationState? PickDestination(HttpContext context, ClusterState cluster, IReadOnlyList<DestinationState> availableDestinations)
    {
        if (availableDestinations.Count == 0)
            return null;
        IReadOnlyList<ulong> blocks = context.Features.Get<PromptBlocksFeature>()?.Blocks ?? [];
        List<DestinationState> candidates = WithinBoundedLoad(WithRoom(availableDestinations));
        lock (sync)
        {
            ForgetRestarted(cluster);
            var scored = candidates.Select(d => (Destination: d, Matched: index.MatchedBlocks(d.DestinationId, blocks), Waiting: loads.LoadOf(d.DestinationId)?.Waiting ?? 0));
            var best = scored
                .OrderByDescending(c => c.Matched)
                .ThenBy(c => c.Destination.ConcurrentRequestCount)
                .ThenBy(c => c.Waiting)
                .ThenBy(c => sent.GetValueOrDefault(c.Destination.DestinationId))
                .First();
            sent[best.Destination.DestinationId] = sent.GetValueOrDefault(best.Destination.DestinationId) + 1;
            index.Routed(best.Destination.DestinationId, blocks);
            metrics.Matched(best.Matched * options.PrefixBlockTokens);
            return best.Destination;
        }
    }

    /// <summary>
    /// A replica that failed its health checks and passes them again has restarted, or may have, with an empty cache:
    /// its routing history is forgotten (its KV events, when subscribed, say what it holds anew).
    /// </summary>
    private void ForgetRestarted(ClusterState cluster)
    {
        foreach (DestinationState destination in cluster.Destinations.Values)
        {
            if (destination.Health.Active == DestinationHealth.Unhealthy)
                down.Add(destination.DestinationId);
            else if (destination.Health.Active == DestinationHealth.Healthy && down.Remove(destination.DestinationId) && !index.FromEvents)
                index.Forget(destination.DestinationId);
        }
    }

    /// <summary>The replicas whose queue is not full; all of them if every queue is.</summary>
    private IReadOnlyList<DestinationState> WithRoom(IReadOnlyList<DestinationState> destinations)
    {
        var withRoom = destinations.Where(d => !(loads.LoadOf(d.DestinationId)?.Waiting >= options.MaxReplicaWaitingRequests)).ToList();
        return withRoom.Count > 0 ? withRoom : destinations;
    }

    /// <summary>
    /// The replicas that one more request keeps at or below ⌈c × (in flight + 1) / replicas⌉; never empty, since the
    /// least loaded always qualifies.
    /// </summary>
    private List<DestinationState> WithinBoundedLoad(IReadOnlyList<DestinationState> destinations)
    {
        int total = destinations.Sum(d => d.ConcurrentRequestCount);
        double bound = Math.Ceiling(options.LoadFactor * (total + 1) / destinations.Count);
        var within = destinations.Where(d => d.ConcurrentRequestCount + 1 <= bound).ToList();
        return within.Count > 0 ? within : [destinations.MinBy(d => d.ConcurrentRequestCount)!];
    }
}
