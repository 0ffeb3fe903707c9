using System.Diagnostics;
using Dbrx.Extensions.AI;
using Dbrx.Inference.Generation;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Dbrx.Server;

/// <summary>
/// Loads the model in the background once the host has started (so a server that cannot listen loads nothing), so
/// the server answers health checks at once, and reports
/// ready (<c>/health/ready</c>) once the model is loaded: Degraded while it loads (not a failure), Unhealthy if loading
/// failed, both 503. A client that is not DBRX's is ready at once.
/// </summary>
internal sealed class ModelReadiness(IChatClient client, IHostApplicationLifetime lifetime, ILogger<ModelReadiness> logger) : BackgroundService, IHealthCheck
{
    /// <summary>The health-check tag of the checks <c>/health/ready</c> runs.</summary>
    public const string Tag = "ready";

    private volatile string? failure;
    private volatile bool ready;

    /// <summary>The engine once loaded (for the queue and batch gauges); null before, or when the client is not DBRX's.</summary>
    public DbrxGenerator? Generator { get; private set; }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        // Kestrel listens once the host has started; a host that fails to start stops this service before it loads anything.
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using (lifetime.ApplicationStarted.Register(() => started.TrySetResult()))
        {
            try
            {
                await started.Task.WaitAsync(stoppingToken);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
        long start = Stopwatch.GetTimestamp();
        try
        {
            if (client.GetService<DbrxChatClient>() is { } dbrx)
            {
                await dbrx.LoadAsync(cancellationToken: stoppingToken);
                Generator = client.GetService<DbrxGenerator>();
            }
            ready = true;
            logger.LogInformation("Model loaded in {Seconds:F1} s; ready.", Stopwatch.GetElapsedTime(start).TotalSeconds);
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // The host stopped during the load.
        }
        catch (Exception e)
        {
            failure = e.Message;
            logger.LogError(e, "Loading the model failed; /health/ready reports it. Requests try to load it again.");
        }
    }

    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) => Task.FromResult(
        ready ? HealthCheckResult.Healthy("The model is loaded.")
        : failure is { } error ? HealthCheckResult.Unhealthy($"Loading the model failed: {error}")
        : HealthCheckResult.Degraded("The model is loading."));
}
