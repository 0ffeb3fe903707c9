using System.Collections.Concurrent;
using System.Globalization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Dbrx.Gateway.Tests;

/// <summary>
/// A stand-in for a <c>dbrx serve</c> replica on a real Kestrel on 127.0.0.1: <c>/v1/chat/completions</c> answers
/// with a handler the test sets (default: a small JSON completion naming this replica), <c>/health/ready</c> with 200
/// or 503 as <see cref="Ready"/> says, <c>/metrics</c> with the engine's queue gauges as <see cref="Waiting"/> says.
/// It keeps every chat request's body and Authorization header.
/// </summary>
public sealed class FakeReplica : IAsyncDisposable
{
    private readonly WebApplication app;

    private FakeReplica(WebApplication app, string name)
    {
        this.app = app;
        Name = name;
        Url = app.Urls.Single().TrimEnd('/');
    }

    public string Name { get; }

    /// <summary>The replica's base URL, as the gateway names it.</summary>
    public string Url { get; }

    public volatile bool Ready = true;

    public volatile int Waiting;

    /// <summary>What a chat request is answered with; null: the default completion.</summary>
    public Func<HttpContext, Task>? Chat { get; set; }

    public ConcurrentQueue<(string Body, string Authorization)> Requests { get; } = new();

    public static async Task<FakeReplica> StartAsync(string name)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        WebApplication app = builder.Build();
        FakeReplica? replica = null;
        app.MapPost("/v1/chat/completions", async context =>
        {
            using var reader = new StreamReader(context.Request.Body);
            replica!.Requests.Enqueue((await reader.ReadToEndAsync(), context.Request.Headers.Authorization.ToString()));
            context.Response.Headers["x-replica"] = replica.Name;
            if (replica.Chat is { } chat)
                await chat(context);
            else
                await context.Response.WriteAsJsonAsync(new { id = "chatcmpl-1", @object = "chat.completion", model = "tiny-dbrx", choices = new[] { new { index = 0, message = new { role = "assistant", content = replica.Name }, finish_reason = "stop" } } });
        });
        app.MapGet("/health/ready", context =>
        {
            context.Response.StatusCode = replica!.Ready ? 200 : 503;
            return Task.CompletedTask;
        });
        app.MapGet("/metrics", context => context.Response.WriteAsync(string.Create(CultureInfo.InvariantCulture,
            $"# TYPE dbrx_engine_waiting_requests gauge\ndbrx_engine_waiting_requests{{otel_scope_name=\"Dbrx.Inference\"}} {replica!.Waiting}\ndbrx_engine_running_requests 0\ndbrx_engine_kv_cache_usage_ratio 0.5\n")));
        await app.StartAsync();
        replica = new FakeReplica(app, name);
        return replica;
    }

    public async ValueTask DisposeAsync() => await app.DisposeAsync();
}
