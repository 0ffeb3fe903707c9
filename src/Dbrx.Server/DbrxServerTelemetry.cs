using Dbrx.Extensions.AI;

namespace Dbrx.Server;

/// <summary>
/// The meters behind the server's figures. Export them with the application's own telemetry (for example
/// OpenTelemetry: <c>.WithMetrics(m => m.AddMeter([.. DbrxServerTelemetry.MeterNames]).AddPrometheusExporter())</c>);
/// the server configures no exporter itself.
/// </summary>
public static class DbrxServerTelemetry
{
    /// <summary>
    /// The server's meter: <c>dbrx.server.requests</c> by outcome, prompt, cached and generated tokens, the time to the
    /// first token and per output token.
    /// </summary>
    public const string MeterName = "Dbrx.Server";

    /// <summary>The server's meter and the chat client's and engine's (<see cref="DbrxChatClient.MeterNames"/>).</summary>
    public static IReadOnlyList<string> MeterNames { get; } = [MeterName, .. DbrxChatClient.MeterNames];
}
