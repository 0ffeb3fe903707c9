using Dbrx.Server;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Microsoft.AspNetCore.Builder;

/// <summary>Maps the OpenAI-compatible API, and, separately, the server's health endpoints.</summary>
public static class DbrxOpenAIEndpointRouteBuilderExtensions
{
    /// <summary>
    /// Maps <c>POST /v1/chat/completions</c>, <c>POST /v1/completions</c> (a raw text prompt, for a base model),
    /// <c>POST /v1/responses</c> with <c>GET</c> and <c>DELETE /v1/responses/{id}</c>, <c>GET /v1/models</c> and
    /// <c>GET /v1/models/{id}</c>, and the endpoints that render a request to the token ids the engine would prefill:
    /// <c>POST /v1/chat/completions/render</c>, <c>POST /v1/completions/render</c>, <c>POST /tokenize</c> and
    /// <c>POST /detokenize</c> (vLLM's shapes; what llm-d's precise prefix-cache routing calls). All behind the API
    /// key, when one is configured. Needs <c>services.AddDbrxOpenAI()</c>. Health and metrics are the application's to map:
    /// <see cref="MapDbrxHealthChecks"/>, and any exporter of <c>DbrxServerTelemetry.MeterNames</c>.
    /// </summary>
    /// <returns>The <c>/v1</c> group, for more conventions (CORS, rate limiting, authorization).</returns>
    public static RouteGroupBuilder MapDbrxOpenAI(this IEndpointRouteBuilder endpoints)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        RouteGroupBuilder v1 = endpoints.MapGroup("/v1").AddEndpointFilter<ApiKeyFilter>();
        v1.MapPost("/chat/completions", (HttpContext context, ChatCompletionsEndpoint endpoint) => endpoint.HandleAsync(context));
        v1.MapPost("/completions", (HttpContext context, CompletionsEndpoint endpoint) => endpoint.HandleAsync(context));
        v1.MapPost("/responses", (HttpContext context, ResponsesEndpoint endpoint) => endpoint.CreateAsync(context));
        v1.MapGet("/responses/{id}", (string id, ResponsesEndpoint endpoint, CancellationToken cancellationToken) => endpoint.GetAsync(id, cancellationToken));
        v1.MapDelete("/responses/{id}", (string id, ResponsesEndpoint endpoint, CancellationToken cancellationToken) => endpoint.DeleteAsync(id, cancellationToken));
        v1.MapGet("/models", ModelsEndpoint.List);
        v1.MapGet("/models/{id}", ModelsEndpoint.Get);
        PromptEndpoints.Map(v1, endpoints);
        return v1;
    }

    /// <summary>
    /// Maps <c>GET /health/live</c> (the process answers) and <c>GET /health/ready</c> (200 once the model is loaded;
    /// 503 while it loads or if loading failed). Needs <c>services.AddDbrxHealthChecks()</c>; no API key.
    /// </summary>
    public static IEndpointRouteBuilder MapDbrxHealthChecks(this IEndpointRouteBuilder endpoints)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        endpoints.MapHealthChecks("/health/live", new HealthCheckOptions { Predicate = _ => false });
        endpoints.MapHealthChecks("/health/ready", new HealthCheckOptions
        {
            Predicate = check => check.Tags.Contains(DbrxModelHealthCheck.Tag),
            ResultStatusCodes = { [HealthStatus.Degraded] = StatusCodes.Status503ServiceUnavailable },
        });
        return endpoints;
    }
}
