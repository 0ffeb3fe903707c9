using System.Collections.Concurrent;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Dbrx.Gateway;

/// <summary>
/// Scrapes each replica's <c>/metrics</c> every <see cref="DbrxGatewayOptions.MetricsInterval"/> for its queue and
/// KV-cache usage. A replica that does not answer has no load known (the health checks decide whether it is picked).
/// </summary>
internal sealed class ReplicaLoadScraper(DbrxGatewayOptions options, IHttpClientFactory clients, ILogger<ReplicaLoadScraper> logger) : BackgroundService
{
    private readonly ConcurrentDictionary<string, ReplicaLoad> loads = new(StringComparer.Ordinal);

    /// <summary>The replica's load as last scraped, or null if unknown.</summary>
    public ReplicaLoad? LoadOf(string replica) => loads.GetValueOrDefault(replica);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        HttpClient http = clients.CreateClient(nameof(ReplicaLoadScraper));
        http.Timeout = options.MetricsInterval * 2;
        using var timer = new PeriodicTimer(options.MetricsInterval);
        try
        {
            do
            {
                await Task.WhenAll(options.Replicas.Select(replica => ScrapeAsync(http, replica, stoppingToken)));
            }
            while (await timer.WaitForNextTickAsync(stoppingToken));
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // The host is stopping.
        }
    }

    private async Task ScrapeAsync(HttpClient http, string replica, CancellationToken cancellationToken)
    {
        try
        {
            string text = await http.GetStringAsync(new Uri(new Uri(replica), "/metrics"), cancellationToken);
            if (PrometheusText.ParseLoad(text) is { } load)
                loads[replica] = load;
            else
                loads.TryRemove(replica, out _);
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException && !cancellationToken.IsCancellationRequested)
        {
            loads.TryRemove(replica, out _);
            logger.LogDebug(e, "Scraping {Replica}/metrics failed.", replica);
        }
    }
}
