// The OpenAI-compatible server in an ASP.NET Core application of your own: the chat client, the endpoints, and
// whatever else the application maps beside them.
//
//   dotnet run --project samples/Dbrx.Server                            a tiny random DBRX, created on first run
//   dotnet run --project samples/Dbrx.Server -- --Dbrx:ModelPath=DIR    a real checkpoint (any Dbrx:* or DbrxServer:* option)
//
// then, for example: curl http://127.0.0.1:5000/v1/models
using Dbrx.Inference.Checkpoints;
using Dbrx.Server;
using OpenTelemetry.Metrics;

var builder = WebApplication.CreateBuilder(args);
builder.Services.AddDbrxChatClient(options =>
{
    builder.Configuration.GetSection("Dbrx").Bind(options);
    options.ModelPath ??= DbrxRandomCheckpoint.EnsureTinySample();
});
builder.Services.AddDbrxOpenAI(builder.Configuration.GetSection("DbrxServer"));
// Opt-in: /health/ready turns ready once the model has loaded (and the model loads as soon as the host has started).
builder.Services.AddDbrxHealthChecks();
// The application's choice of exporter: here OpenTelemetry's, for Prometheus on /metrics.
builder.Services.AddOpenTelemetry().WithMetrics(metrics => metrics
    .AddMeter([.. DbrxServerTelemetry.MeterNames])
    .AddPrometheusExporter());

var app = builder.Build();
app.MapDbrxOpenAI();
app.MapDbrxHealthChecks();
app.MapPrometheusScrapingEndpoint("/metrics");
app.Run();
