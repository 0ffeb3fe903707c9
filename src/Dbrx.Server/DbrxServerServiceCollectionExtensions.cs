using Dbrx.Server;
using Microsoft.Extensions.Configuration;
using OpenTelemetry.Metrics;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers the services behind <c>app.MapDbrxOpenAI()</c>.</summary>
public static class DbrxServerServiceCollectionExtensions
{
    /// <summary>
    /// Registers the OpenAI-compatible endpoints' services over the application's <c>IChatClient</c> (register it with
    /// <c>services.AddDbrxChatClient(...)</c>, without function invocation: the server's clients run their own tools):
    /// the options (validated now), a background load of the model that <c>/health/ready</c> reports, health checks,
    /// and OpenTelemetry metrics exported for Prometheus. Then call <c>app.MapDbrxOpenAI()</c>.
    /// </summary>
    /// <exception cref="ArgumentException">An option is invalid (the message names it).</exception>
    public static IServiceCollection AddDbrxOpenAI(this IServiceCollection services, Action<DbrxServerOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        var options = new DbrxServerOptions();
        configure?.Invoke(options);
        options.Validate();
        services.AddSingleton(options);
        services.AddSingleton<ServedModel>();
        services.AddSingleton<ModelReadiness>();
        services.AddHostedService(provider => provider.GetRequiredService<ModelReadiness>());
        services.AddHostedService<OpenAccessWarning>();
        services.AddSingleton<DbrxServerMetrics>();
        services.AddSingleton<ChatCompletionsEndpoint>();
        services.AddHealthChecks().AddCheck<ModelReadiness>("model", tags: [ModelReadiness.Tag]);
        // Scrapes read the instruments as they are now (the exporter's default caches a scrape for 300 ms).
        services.AddOpenTelemetry().WithMetrics(metrics => metrics
            .AddMeter(DbrxServerMetrics.MeterName)
            .AddPrometheusExporter(exporter => exporter.ScrapeResponseCacheDurationMilliseconds = 0));
        return services;
    }

    /// <summary>Registers the endpoints' services with options bound from a configuration section (for example <c>configuration.GetSection("DbrxServer")</c>).</summary>
    public static IServiceCollection AddDbrxOpenAI(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        return services.AddDbrxOpenAI(configuration.Bind);
    }
}
