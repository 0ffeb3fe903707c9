using Dbrx.Extensions.AI;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Dbrx.Server;

/// <summary>
/// <c>/health/ready</c>'s check: healthy once the DBRX client's model is loaded (the client loads it in the background
/// once the host has started, see <c>AddDbrxHealthChecks</c>), Degraded while it loads (503, not a failure),
/// Unhealthy with the reason if loading failed. A client that is not DBRX's is ready at once.
/// </summary>
internal sealed class DbrxModelHealthCheck(IChatClient client) : IHealthCheck
{
    /// <summary>The health-check tag of the checks <c>/health/ready</c> runs.</summary>
    public const string Tag = "ready";

    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) => Task.FromResult(
        client.GetService<DbrxChatClient>() is not { } dbrx ? HealthCheckResult.Healthy("The chat client is ready.")
        : dbrx.ModelState switch
        {
            DbrxModelState.Loaded => HealthCheckResult.Healthy("The model is loaded."),
            DbrxModelState.Failed => HealthCheckResult.Unhealthy($"Loading the model failed: {dbrx.LoadError}"),
            _ => HealthCheckResult.Degraded("The model is loading."),
        });
}
