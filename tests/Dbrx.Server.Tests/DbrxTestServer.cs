using System.ClientModel;
using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.Globalization;
using System.Net.Http.Headers;
using System.Text.RegularExpressions;
using Dbrx.Cli.Serving;
using Dbrx.Extensions.AI;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using OpenAI;

namespace Dbrx.Server.Tests;

/// <summary>
/// A real Kestrel server on 127.0.0.1 with a free port, serving the tiny model through <c>AddDbrxChatClient</c>,
/// <c>AddDbrxOpenAI</c>, <c>MapDbrxOpenAI</c>, the health checks and <c>dbrx serve</c>'s Prometheus exporter, as an application does; a recording layer in front of the
/// DBRX client keeps what each request asked for, and a listener on this server's meter counts how its requests ended.
/// Started ready (the model loaded).
/// </summary>
public sealed partial class DbrxTestServer : IAsyncDisposable
{
    public const string ApiKey = "sk-test-dbrx";

    private readonly WebApplication app;
    private readonly MeterListener listener = new();
    private readonly Lock outcomesLock = new();
    private readonly Dictionary<string, long> requestsByOutcome = [];
    private TaskCompletionSource counted = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private DbrxTestServer(WebApplication app)
    {
        this.app = app;
        // This application's meter only: another server in the process has a meter of the same name.
        IMeterFactory meters = app.Services.GetRequiredService<IMeterFactory>();
        listener.InstrumentPublished = (instrument, published) =>
        {
            if (instrument.Meter.Scope == meters && instrument.Meter.Name == DbrxServerTelemetry.MeterName && instrument.Name == "dbrx.server.requests")
                published.EnableMeasurementEvents(instrument);
        };
        listener.SetMeasurementEventCallback<long>((_, value, tags, _) => Count(tags, value));
        listener.Start();
        BaseAddress = new Uri(app.Urls.Single());
        // Long: under load a queued request waits for its first token before the response starts (64 clients on a shared 2-core machine).
        Http = new HttpClient { BaseAddress = BaseAddress, Timeout = TimeSpan.FromMinutes(10) };
        Http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", ApiKey);
    }

    /// <param name="model">The tiny model to serve.</param>
    /// <param name="client">Changes to the chat client's options.</param>
    /// <param name="server">Changes to the server's options.</param>
    /// <param name="layer">A layer in front of the DBRX client (behind the recording one), for faults.</param>
    /// <param name="services">More services the application registers.</param>
    public static async Task<DbrxTestServer> StartAsync(TinyModel model, Action<DbrxChatClientOptions>? client = null, Action<DbrxServerOptions>? server = null, Func<IChatClient, IChatClient>? layer = null, Action<IServiceCollection>? services = null)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.SetMinimumLevel(LogLevel.Warning).AddFilter("Microsoft.Extensions.Diagnostics.HealthChecks", LogLevel.Error);
        builder.Services.AddDbrxChatClient(options =>
        {
            options.ModelPath = model.Directory;
            options.Device = "cpu";
            options.ContextLength = 2048;
            options.DefaultMaxOutputTokens = 32;
            client?.Invoke(options);
        }).Use(inner => new RecordingChatClient(layer?.Invoke(inner) ?? inner));
        builder.Services.AddDbrxOpenAI(options =>
        {
            options.ApiKeys = [ApiKey];
            server?.Invoke(options);
        });
        builder.Services.AddDbrxHealthChecks();
        builder.Services.AddDbrxPrometheusMetrics();
        services?.Invoke(builder.Services);
        WebApplication app = builder.Build();
        app.MapDbrxOpenAI();
        app.MapDbrxHealthChecks();
        app.MapDbrxPrometheusMetrics();
        await app.StartAsync();
        var started = new DbrxTestServer(app);
        await app.Services.GetRequiredService<DbrxChatClient>().LoadAsync();
        return started;
    }

    public Uri BaseAddress { get; }

    /// <summary>An HTTP client for this server, with the API key.</summary>
    public HttpClient Http { get; }

    /// <summary>The application's services.</summary>
    public IServiceProvider Services => app.Services;

    /// <summary>The application's own <see cref="IChatClient"/>: the same request in-process.</summary>
    public IChatClient InProcess => app.Services.GetRequiredService<IChatClient>();

    /// <summary>The route patterns the application maps (<c>/v1/chat/completions</c>, <c>/health/ready</c>, ...).</summary>
    public IReadOnlyList<string> Routes => [.. app.Services.GetRequiredService<EndpointDataSource>().Endpoints.OfType<RouteEndpoint>().Select(e => e.RoutePattern.RawText ?? "")];

    /// <summary>The DBRX client behind <see cref="InProcess"/>.</summary>
    public DbrxChatClient Dbrx => app.Services.GetRequiredService<DbrxChatClient>();

    /// <summary>What each request the server ran asked the DBRX client for.</summary>
    public ConcurrentQueue<(List<ChatMessage> Messages, ChatOptions? Options)> Requests => ((RecordingChatClient)InProcess).Requests;

    /// <summary>The official OpenAI client's options for this server (<c>/v1</c>).</summary>
    public OpenAIClient OpenAI() => new(new ApiKeyCredential(ApiKey), new OpenAIClientOptions { Endpoint = new Uri(BaseAddress, "/v1") });

    /// <summary>A value of <c>/metrics</c> (the sum over the series whose labels include <paramref name="label"/>).</summary>
    public async Task<double> MetricAsync(string name, string? label = null)
    {
        string text = await Http.GetStringAsync("/metrics");
        return MetricLine().Matches(text)
            .Where(m => m.Groups["name"].Value == name && (label is null || m.Groups["labels"].Value.Contains(label, StringComparison.Ordinal)))
            .Sum(m => double.Parse(m.Groups["value"].Value, CultureInfo.InvariantCulture));
    }

    /// <summary>Requests this server has counted with any of <paramref name="outcomes"/> (the <c>outcome</c> tag of <c>dbrx.server.requests</c>).</summary>
    public long Counted(params string[] outcomes)
    {
        lock (outcomesLock)
            return outcomes.Sum(outcome => requestsByOutcome.GetValueOrDefault(outcome));
    }

    /// <summary>Waits until this server has counted at least <paramref name="count"/> requests with any of <paramref name="outcomes"/>.</summary>
    public async Task WhenCountedAsync(long count, params string[] outcomes)
    {
        using var hangGuard = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        hangGuard.CancelAfter(TimeSpan.FromMinutes(2));
        while (true)
        {
            Task next;
            lock (outcomesLock)
            {
                if (outcomes.Sum(outcome => requestsByOutcome.GetValueOrDefault(outcome)) >= count)
                    return;
                next = counted.Task;
            }
            await next.WaitAsync(hangGuard.Token);
        }
    }

    private void Count(ReadOnlySpan<KeyValuePair<string, object?>> tags, long value)
    {
        string outcome = "";
        foreach (var (key, tag) in tags)
        {
            if (key == "outcome")
                outcome = tag as string ?? "";
        }
        TaskCompletionSource signal;
        lock (outcomesLock)
        {
            requestsByOutcome[outcome] = requestsByOutcome.GetValueOrDefault(outcome) + value;
            signal = counted;
            counted = new(TaskCreationOptions.RunContinuationsAsynchronously);
        }
        signal.SetResult();
    }

    public async ValueTask DisposeAsync()
    {
        listener.Dispose();
        Http.Dispose();
        await app.StopAsync();
        await app.DisposeAsync();
    }

    [GeneratedRegex(@"^(?<name>[a-z_]+)(\{(?<labels>[^}]*)\})? (?<value>\S+)$", RegexOptions.Multiline)]
    private static partial Regex MetricLine();

    /// <summary>Keeps each request's messages and options, then passes it on.</summary>
    private sealed class RecordingChatClient(IChatClient inner) : DelegatingChatClient(inner)
    {
        public ConcurrentQueue<(List<ChatMessage> Messages, ChatOptions? Options)> Requests { get; } = new();

        public override IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
        {
            Requests.Enqueue(([.. messages], options));
            return base.GetStreamingResponseAsync(messages, options, cancellationToken);
        }
    }
}
