using Dbrx.Extensions.AI;
using Dbrx.Server;
using Microsoft.Extensions.Configuration;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers the services behind <c>app.MapDbrxOpenAI()</c> and the optional health checks.</summary>
public static class DbrxServerServiceCollectionExtensions
{
    /// <summary>
    /// Registers the OpenAI-compatible endpoints' services over the application's <c>IChatClient</c> (register it with
    /// <c>services.AddDbrxChatClient(...)</c>, without function invocation: the server's clients run their own tools):
    /// the options (validated now) and the server's meter (<see cref="DbrxServerTelemetry.MeterName"/>; the application
    /// chooses how to export it). Then call <c>app.MapDbrxOpenAI()</c>. Health checks are <see cref="AddDbrxHealthChecks"/>.
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
        services.AddHostedService<OpenAccessWarning>();
        services.AddMetrics();
        services.AddSingleton<DbrxServerMetrics>();
        services.AddSingleton<RequestRefusal>();
        services.AddSingleton<GenerationResponder>();
        services.AddSingleton<ChatCompletionsEndpoint>();
        services.AddSingleton<CompletionsEndpoint>();
        services.AddSingleton<IResponseStore>(_ => options.ResponseStore.SqlitePath is null ? new MemoryResponseStore(options.ResponseStore) : new SqliteResponseStore(options.ResponseStore));
        services.AddSingleton<ResponsesEndpoint>();
        services.AddSingleton<PromptEndpoints>();
        return services;
    }

    /// <summary>Registers the endpoints' services with options bound from a configuration section (for example <c>configuration.GetSection("DbrxServer")</c>).</summary>
    public static IServiceCollection AddDbrxOpenAI(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        return services.AddDbrxOpenAI(configuration.Bind);
    }

    /// <summary>
    /// Registers the health check <c>app.MapDbrxHealthChecks()</c> serves on <c>/health/ready</c>: ready once the DBRX
    /// model is loaded. It also makes every DBRX client load its model as soon as the host has started
    /// (<see cref="DbrxChatClientOptions.LoadEagerly"/>), so readiness does not wait for a first request.
    /// </summary>
    public static IServiceCollection AddDbrxHealthChecks(this IServiceCollection services)
    {
        ArgumentNullException.ThrowIfNull(services);
        services.PostConfigureAll<DbrxChatClientOptions>(options => options.LoadEagerly = true);
        services.AddHealthChecks().AddCheck<DbrxModelHealthCheck>("model", tags: [DbrxModelHealthCheck.Tag]);
        return services;
    }
}
