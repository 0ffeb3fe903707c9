using Dbrx.Server;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Microsoft.AspNetCore.Builder;

/// <summary>Maps the OpenAI-compatible API and the server's health and metrics endpoints.</summary>
public static class DbrxOpenAIEndpointRouteBuilderExtensions
{
    /// <summary>
    /// Maps <c>POST /v1/chat/completions</c>, <c>GET /v1/models</c> and <c>GET /v1/models/{id}</c> (behind the API key,
    /// when one is configured), <c>GET /health/live</c> (the process answers), <c>GET /health/ready</c> (the model is
    /// loaded; 503 before) and <c>GET /metrics</c> (Prometheus). Needs <c>services.AddDbrxOpenAI()</c>.
    /// </summary>
    /// <returns>The <c>/v1</c> group, for more conventions (CORS, rate limiting, authorization).</returns>
    public static RouteGroupBuilder MapDbrxOpenAI(this IEndpointRouteBuilder endpoints)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        // Created now, so the gauges exist from the first scrape on.
        endpoints.ServiceProvider.GetRequiredService<DbrxServerMetrics>();

        RouteGroupBuilder v1 = endpoints.MapGroup("/v1").AddEndpointFilter<ApiKeyFilter>();
        v1.MapPost("/chat/completions", (HttpContext context, ChatCompletionsEndpoint endpoint) => endpoint.HandleAsync(context));
        v1.MapGet("/models", ModelsEndpoint.List);
        v1.MapGet("/models/{id}", ModelsEndpoint.Get);

        endpoints.MapHealthChecks("/health/live", new HealthCheckOptions { Predicate = _ => false });
        endpoints.MapHealthChecks("/health/ready", new HealthCheckOptions
        {
            Predicate = check => check.Tags.Contains(ModelReadiness.Tag),
            ResultStatusCodes = { [HealthStatus.Degraded] = StatusCodes.Status503ServiceUnavailable },
        });
        endpoints.MapPrometheusScrapingEndpoint("/metrics");
        return v1;
    }
}
