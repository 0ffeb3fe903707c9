using System.CommandLine;
using Dbrx.Gateway;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using OpenTelemetry.Metrics;

namespace Dbrx.Cli.Commands;

/// <summary>
/// <c>dbrx gateway</c>: one OpenAI-compatible address in front of several <c>dbrx serve</c> replicas
/// (<c>Dbrx.Gateway</c> on YARP), with the gateway's own meter on <c>/metrics</c>, until Ctrl+C.
/// </summary>
internal static class GatewayCommand
{
    private static readonly DbrxGatewayOptions Defaults = new();

    public static Command Create()
    {
        var replicas = new Option<string[]>("--replica") { Description = "A replica's base URL, http://host:port (repeat for each).", Required = true, AllowMultipleArgumentsPerToken = false };
        var urls = new Option<string>("--urls") { Description = "Where the gateway listens.", DefaultValueFactory = _ => "http://127.0.0.1:8080" };
        var policy = new Option<DbrxGatewayPolicy>("--policy") { Description = "PrefixAware (the replica holding the longest run of the prompt's cache blocks, load-bounded), RoundRobin or LeastRequests.", DefaultValueFactory = _ => Defaults.Policy };
        var model = new Option<string?>("--model") { Description = "The served model's folder: its template and tokenizer render prompts as the replicas do (no weights loaded). Required by PrefixAware." };
        var systemPrompt = new Option<string?>("--system-prompt") { Description = "The replicas' --system-prompt, if they were given one." };
        var blockTokens = new Option<int>("--prefix-block-tokens") { Description = "The replicas' prefix-cache block size in tokens.", DefaultValueFactory = _ => Defaults.PrefixBlockTokens };
        var kvEvents = new Option<string[]>("--kv-events") { Description = "A replica's KV-cache event endpoint, tcp://host:port, one per --replica in the same order (none: the gateway's routing history stands in).", AllowMultipleArgumentsPerToken = false };
        var loadFactor = new Option<double>("--load-factor") { Description = "No replica above this times the average requests in flight.", DefaultValueFactory = _ => Defaults.LoadFactor };
        var maxWaiting = new Option<int>("--max-replica-waiting") { Description = "A replica with this many requests waiting is skipped while another has room.", DefaultValueFactory = _ => Defaults.MaxReplicaWaitingRequests };
        var activityTimeout = new Option<int>("--activity-timeout") { Description = "Seconds a replica may send nothing (the wait for a long prefill included) before the request is given up.", DefaultValueFactory = _ => (int)Defaults.ActivityTimeout.TotalSeconds };
        var retries = new Option<int>("--max-retries") { Description = "Other replicas tried when one fails before anything of its response was sent.", DefaultValueFactory = _ => Defaults.MaxRetries };
        var apiKeys = new Option<string[]>("--api-key") { Description = "A key clients must send, checked at the gateway (repeat for several; none: the client's header passes through to the replicas).", AllowMultipleArgumentsPerToken = false };
        var replicaKey = new Option<string?>("--replica-api-key") { Description = "With --api-key: the key sent to the replicas in place of the client's." };
        var command = new Command("gateway", "Route OpenAI requests between dbrx serve replicas: prefix-aware and load-aware, with health checks, retries and streaming; the gateway's metrics on /metrics.")
        {
            replicas, urls, policy, model, systemPrompt, blockTokens, kvEvents, loadFactor, maxWaiting, activityTimeout, retries, apiKeys, replicaKey,
        };
        command.SetAction(CliAction.Run(async (parse, _) =>
        {
            var builder = WebApplication.CreateBuilder(new WebApplicationOptions { ContentRootPath = AppContext.BaseDirectory });
            builder.Logging.AddFilter("Microsoft.AspNetCore", LogLevel.Warning).AddFilter("Yarp", LogLevel.Warning);
            builder.WebHost.UseUrls(parse.GetValue(urls)!);
            builder.Services.AddDbrxGateway(options =>
            {
                options.Replicas = parse.GetValue(replicas)!;
                options.Policy = parse.GetValue(policy);
                options.ModelPath = parse.GetValue(model);
                options.SystemPrompt = parse.GetValue(systemPrompt);
                options.PrefixBlockTokens = parse.GetValue(blockTokens);
                options.KvEventEndpoints = parse.GetValue(kvEvents) ?? [];
                options.LoadFactor = parse.GetValue(loadFactor);
                options.MaxReplicaWaitingRequests = parse.GetValue(maxWaiting);
                options.ActivityTimeout = TimeSpan.FromSeconds(parse.GetValue(activityTimeout));
                options.MaxRetries = parse.GetValue(retries);
                options.ApiKeys = parse.GetValue(apiKeys) ?? [];
                options.ReplicaApiKey = parse.GetValue(replicaKey);
            });
            builder.Services.AddOpenTelemetry().WithMetrics(metrics => metrics
                .AddMeter(DbrxGatewayTelemetry.MeterName)
                .AddPrometheusExporter(exporter => exporter.ScrapeResponseCacheDurationMilliseconds = 0));
            await using WebApplication app = builder.Build();
            // The gateway's own metrics; every other path goes to the replicas.
            app.MapPrometheusScrapingEndpoint("/metrics");
            app.MapDbrxGateway();
            await app.StartAsync();
            Console.Error.WriteLine($"dbrx: gateway at {string.Join(", ", app.Urls.Select(u => u + "/v1"))} over {parse.GetValue(replicas)!.Length} replicas ({parse.GetValue(policy)}); its metrics at /metrics. Ctrl+C stops.");
            await app.WaitForShutdownAsync();
            return 0;
        }));
        return command;
    }
}
