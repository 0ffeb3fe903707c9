using System.CommandLine;
using Dbrx.Cli.Serving;
using Dbrx.Extensions.AI;
using Dbrx.KvEvents;
using Dbrx.Server;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Dbrx.Cli.Commands;

/// <summary>
/// <c>dbrx serve</c>: the OpenAI-compatible HTTP server (<c>Dbrx.Server</c>) over a model folder, until Ctrl+C. It
/// listens at once; <c>/health/ready</c> turns ready when the model has loaded.
/// </summary>
internal static class ServeCommand
{
    private static readonly DbrxChatClientOptions ChatDefaults = new();

    public static Command Create()
    {
        var model = new ModelOptions("auto");
        var host = new Option<string>("--host") { Description = "Address to listen on: 127.0.0.1 (this machine only), 0.0.0.0 or [::] (every interface).", DefaultValueFactory = _ => "127.0.0.1" };
        var port = new Option<int>("--port") { Description = "Port to listen on (0 picks a free one).", DefaultValueFactory = _ => 8000 };
        port.Validators.Add(result =>
        {
            if (result.GetValueOrDefault<int>() is var value and (< 0 or > 65535))
                result.AddError($"--port must be between 0 and 65535, not {value}.");
        });
        var apiKeys = new Option<string[]>("--api-key") { Description = "A key clients must send as 'Authorization: Bearer KEY' (repeat for several; none: no key needed).", AllowMultipleArgumentsPerToken = false };
        var modelId = new Option<string?>("--model-id") { Description = "The model name clients send and responses carry (default: the model folder's name)." };
        var batch = new Option<int>("--max-batch-size") { Description = "Requests decoded together.", DefaultValueFactory = _ => ChatDefaults.MaxBatchSize };
        var queue = new Option<int>("--max-queued-requests") { Description = "Requests that may wait for a batch row; beyond it, 429.", DefaultValueFactory = _ => ChatDefaults.MaxQueuedRequests };
        var context = new Option<int?>("--context-length") { Description = "Tokens per request, prompt and answer (default: max_seq_len capped at 4096)." };
        var maxTokens = new Option<int>("--default-max-tokens") { Description = "Most tokens per answer when a request sets no max_tokens.", DefaultValueFactory = _ => ChatDefaults.DefaultMaxOutputTokens };
        var systemPrompt = new Option<string?>("--system-prompt") { Description = "System prompt for conversations without one (default: dbrx-instruct's; \"\" for none)." };
        var responsesDb = new Option<string?>("--responses-db") { Description = "A SQLite file to keep stored /v1/responses in (created if missing), so a restart loses none and previous_response_id still works (default: in memory)." };
        var maxStored = new Option<int>("--max-stored-responses") { Description = "Most stored responses kept; beyond it the least recently used go.", DefaultValueFactory = _ => new DbrxResponseStoreOptions().MaxStoredResponses };
        var kvEvents = new Option<string?>("--kv-events") { Description = "Publish prefix-cache events for routers (llm-d's format) on this ZeroMQ endpoint, for example tcp://*:5557 (default: off)." };
        var kvEventsTopic = new Option<string?>("--kv-events-topic") { Description = "The KV events' topic, kv@<host:port>@<model>: how routers reach this replica (default: from --host, --port and the model id; set it when they are 0.0.0.0 or 0)." };
        var command = new Command("serve", "Serve the OpenAI API (/v1/chat/completions, /v1/completions, /v1/responses, /v1/models), the render and tokenizer endpoints (/v1/chat/completions/render, /v1/completions/render, /tokenize, /detokenize), /health/live, /health/ready and /metrics over HTTP.")
        {
            model.Model, model.Device, model.DType, model.Attention, model.Int4Modules, model.Int4GroupSize,
            host, port, apiKeys, modelId, batch, queue, context, maxTokens, systemPrompt, responsesDb, maxStored, kvEvents, kvEventsTopic,
        };
        command.SetAction(CliAction.Run(async (parse, _) =>
        {
            // Hosting.Lifetime logs the addresses and shutdown; request logs stay off. A host that fails to start is
            // reported in one line below (its logged stack trace only with --verbose).
            var builder = WebApplication.CreateBuilder(new WebApplicationOptions { ContentRootPath = AppContext.BaseDirectory });
            builder.Logging.AddFilter("Microsoft.AspNetCore", LogLevel.Warning);
            if (!parse.GetValue(CliOptions.Verbose))
                builder.Logging.AddFilter("Microsoft.Extensions.Hosting.Internal.Host", LogLevel.None);
            builder.WebHost.UseUrls($"http://{parse.GetValue(host)}:{parse.GetValue(port)}");
            builder.Services.AddDbrxChatClient(options =>
            {
                options.ModelPath = model.Directory(parse);
                options.Device = parse.GetValue(model.Device)!;
                options.DType = parse.GetValue(model.DType)!;
                options.AttentionImplementation = parse.GetValue(model.Attention)!;
                options.Int4Modules = parse.GetValue(model.Int4Modules)!;
                options.Int4GroupSize = parse.GetValue(model.Int4GroupSize);
                options.ModelId = parse.GetValue(modelId);
                options.MaxBatchSize = parse.GetValue(batch);
                options.MaxQueuedRequests = parse.GetValue(queue);
                options.ContextLength = parse.GetValue(context);
                options.DefaultMaxOutputTokens = parse.GetValue(maxTokens);
                options.SystemPrompt = parse.GetValue(systemPrompt);
            });
            builder.Services.AddDbrxOpenAI(options =>
            {
                options.ApiKeys = parse.GetValue(apiKeys) ?? [];
                options.ResponseStore.SqlitePath = parse.GetValue(responsesDb);
                options.ResponseStore.MaxStoredResponses = parse.GetValue(maxStored);
            });
            builder.Services.AddDbrxHealthChecks();
            builder.Services.AddDbrxPrometheusMetrics();
            if (parse.GetValue(kvEvents) is { } endpoint)
            {
                string modelName = parse.GetValue(modelId) ?? new DbrxChatClientOptions { ModelPath = model.Directory(parse) }.EffectiveModelId;
                builder.Services.AddDbrxKvEvents(options =>
                {
                    options.Endpoint = endpoint;
                    options.Topic = parse.GetValue(kvEventsTopic) ?? DbrxKvEventWire.Topic($"{parse.GetValue(host)}:{parse.GetValue(port)}", modelName);
                });
            }
            await using WebApplication app = builder.Build();
            app.MapDbrxOpenAI();
            app.MapDbrxHealthChecks();
            app.MapDbrxPrometheusMetrics();
            try
            {
                await app.StartAsync();
            }
            catch (IOException e) when (e.InnerException is Microsoft.AspNetCore.Connections.AddressInUseException)
            {
                throw new IOException($"--port {parse.GetValue(port)} on {parse.GetValue(host)} is in use by another program; choose another --port (0 picks a free one).", e);
            }
            string served = app.Services.GetRequiredService<IChatClient>().GetService<ChatClientMetadata>()!.DefaultModelId!;
            Console.Error.WriteLine($"dbrx: serving '{served}' at {string.Join(", ", app.Urls.Select(u => u + "/v1"))} (OpenAI API); /health/ready turns ready when the model has loaded. Ctrl+C stops.");
            await app.WaitForShutdownAsync();
            return 0;
        }));
        return command;
    }
}
