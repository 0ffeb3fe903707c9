namespace Dbrx.Gateway;

/// <summary>How the gateway chooses a replica for a request.</summary>
public enum DbrxGatewayPolicy
{
    /// <summary>
    /// The replica holding the longest run of the prompt's prefix-cache blocks, among those that are ready, whose
    /// queue is not full and that stay within the bounded load; ties go to the least loaded.
    /// </summary>
    PrefixAware,

    /// <summary>YARP's RoundRobin: each replica in turn, whatever it holds.</summary>
    RoundRobin,

    /// <summary>YARP's LeastRequests: the replica with the fewest requests in flight.</summary>
    LeastRequests,
}
