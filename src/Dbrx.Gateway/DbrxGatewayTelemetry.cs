namespace Dbrx.Gateway;

/// <summary>
/// The gateway's meter, for the application's own exporter (<c>dbrx gateway</c> serves it on <c>/metrics</c>):
/// <c>dbrx.gateway.requests</c> (counter, tag <c>replica</c>: requests sent to each replica, retries included),
/// <c>dbrx.gateway.prefix_match</c> (histogram, tokens of the prompt's prefix the chosen replica held),
/// <c>dbrx.gateway.retries</c> (counter, tag <c>replica</c>: the replica that failed before anything was sent),
/// <c>dbrx.gateway.replica_ready</c> (gauge, tag <c>replica</c>: 1 when its health checks pass or have not yet run, 0 when not).
/// </summary>
public static class DbrxGatewayTelemetry
{
    /// <summary>The name of the gateway's meter.</summary>
    public const string MeterName = "Dbrx.Gateway";
}
