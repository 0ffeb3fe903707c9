using Dbrx.Extensions.AI;
using Dbrx.Server;
using Dbrx.Server.Tests;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using OpenTelemetry.Metrics;

namespace Dbrx.Gateway.Tests;

/// <summary>
/// A real replica as <c>dbrx serve</c> hosts one, on 127.0.0.1: the tiny model through <c>AddDbrxChatClient</c>,
/// <c>AddDbrxOpenAI</c>, the health checks and the Prometheus exporter on <c>/metrics</c>; it counts the chat
/// requests it served. Started ready (the model loaded).
/// </summary>
public sealed class RealReplica : IAsyncDisposable
{
    private readonly WebApplication app;
    private int chats;

    private RealReplica(WebApplication app) => this.app = app;

    public string Url => app.Urls.Single().TrimEnd('/');

    public int Chats => Volatile.Read(ref chats);

    public static async Task<RealReplica> StartAsync(TinyModel model)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.Services.AddDbrxChatClient(options =>
        {
            options.ModelPath = model.Directory;
            options.Device = "cpu";
            options.ContextLength = 2048;
            options.DefaultMaxOutputTokens = 8;
        });
        builder.Services.AddDbrxOpenAI();
        builder.Services.AddDbrxHealthChecks();
        builder.Services.AddOpenTelemetry().WithMetrics(metrics => metrics.AddMeter([.. DbrxServerTelemetry.MeterNames]).AddPrometheusExporter(exporter => exporter.ScrapeResponseCacheDurationMilliseconds = 0));
        WebApplication app = builder.Build();
        var replica = new RealReplica(app);
        app.Use(async (HttpContext context, Func<Task> next) =>
        {
            if (context.Request.Path.StartsWithSegments("/v1/chat/completions", StringComparison.Ordinal))
                Interlocked.Increment(ref replica.chats);
            await next();
        });
        app.MapDbrxOpenAI();
        app.MapDbrxHealthChecks();
        app.MapPrometheusScrapingEndpoint("/metrics");
        await app.StartAsync();
        await app.Services.GetRequiredService<DbrxChatClient>().LoadAsync();
        return replica;
    }

    public async ValueTask DisposeAsync() => await app.DisposeAsync();
}
