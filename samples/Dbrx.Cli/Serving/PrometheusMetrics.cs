using Dbrx.KvEvents;
using Dbrx.Server;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using OpenTelemetry.Metrics;

namespace Dbrx.Cli.Serving;

/// <summary>
/// <c>dbrx serve</c>'s choice of exporter for the server's meters: OpenTelemetry's Prometheus exporter on
/// <c>GET /metrics</c>. Dbrx.Server publishes the meters and leaves this choice to the application.
/// </summary>
internal static class PrometheusMetrics
{
    public static IServiceCollection AddDbrxPrometheusMetrics(this IServiceCollection services)
    {
        // Scrapes read the instruments as they are now (the exporter's default caches a scrape for 300 ms).
        services.AddOpenTelemetry().WithMetrics(metrics => metrics
            .AddMeter([.. DbrxServerTelemetry.MeterNames, DbrxKvEventPublisher.MeterName])
            .AddPrometheusExporter(exporter => exporter.ScrapeResponseCacheDurationMilliseconds = 0));
        return services;
    }

    public static IEndpointRouteBuilder MapDbrxPrometheusMetrics(this IEndpointRouteBuilder endpoints)
    {
        endpoints.MapPrometheusScrapingEndpoint("/metrics");
        return endpoints;
    }
}
