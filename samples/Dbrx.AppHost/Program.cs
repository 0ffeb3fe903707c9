// The Aspire app model of a DBRX deployment on one host: N `dbrx serve` replicas, each its own resource with its own
// address, readiness health check and KV-event socket, and `dbrx gateway` in front of them.
// `dotnet run --project samples/Dbrx.AppHost` starts it on the tiny model (written first if the folder is absent),
// with the dashboard. Configuration (command line --Dbrx:Replicas=3, environment Dbrx__Replicas, or appsettings):
// Dbrx:Replicas (2), Dbrx:ModelPath (models/tiny at the repository's root), Dbrx:ModelId (tiny). Replicas use `dbrx serve`'s
// default device, auto: the GPUs when there are any, else the CPU.

using Microsoft.Extensions.Configuration;

var builder = DistributedApplication.CreateBuilder(args);
int replicaCount = builder.Configuration.GetValue("Dbrx:Replicas", 2);
if (replicaCount is < 1 or > 16)
    throw new ArgumentOutOfRangeException("Dbrx:Replicas", replicaCount, "Dbrx:Replicas must be between 1 and 16.");
string modelPath = Path.GetFullPath(builder.Configuration["Dbrx:ModelPath"] ?? Path.Combine(builder.AppHostDirectory, "..", "..", "models", "tiny"));
string modelId = builder.Configuration["Dbrx:ModelId"] ?? "tiny";

// A model folder to serve: the tiny random one, written once by `dbrx init` when the folder is absent.
IResourceBuilder<ProjectResource>? init = File.Exists(Path.Combine(modelPath, "config.json"))
    ? null
    : builder.AddProject<Projects.Dbrx_Cli>("model-init").WithArgs("init", "--preset", "tiny", "--output", modelPath);

var replicas = new List<IResourceBuilder<ProjectResource>>();
for (int i = 0; i < replicaCount; i++)
{
    var replica = builder.AddProject<Projects.Dbrx_Cli>($"replica{i}")
        .WithHttpEndpoint(name: "http")
        .WithEndpoint(name: "kv-events", scheme: "tcp")
        .WithHttpHealthCheck("/health/ready");
    EndpointReference http = replica.GetEndpoint("http"), kvEvents = replica.GetEndpoint("kv-events");
    // Each replica listens where Aspire's proxy forwards to, and publishes its prefix cache's changes under the
    // address routers reach it at (the proxied one).
    replica.WithArgs(context =>
    {
        context.Args.Add("serve");
        foreach (string arg in (string[])["--model", modelPath, "--model-id", modelId, "--host", "127.0.0.1", "--port"])
            context.Args.Add(arg);
        context.Args.Add(http.Property(EndpointProperty.TargetPort));
        context.Args.Add("--kv-events");
        context.Args.Add(ReferenceExpression.Create($"tcp://127.0.0.1:{kvEvents.Property(EndpointProperty.TargetPort)}"));
        context.Args.Add("--kv-events-topic");
        context.Args.Add(ReferenceExpression.Create($"kv@127.0.0.1:{http.Property(EndpointProperty.Port)}@{modelId}"));
    });
    if (init is not null)
        replica.WaitForCompletion(init);
    replicas.Add(replica);
}

// The gateway: one OpenAI address in front of the replicas, routing each conversation to the replica that holds its
// prefix (known from the replicas' KV events), rendering prompts with the model's own template and tokenizer.
var gateway = builder.AddProject<Projects.Dbrx_Cli>("gateway")
    .WithHttpEndpoint(name: "http")
    .WithHttpHealthCheck("/health/ready");
EndpointReference gatewayHttp = gateway.GetEndpoint("http");
gateway.WithArgs(context =>
{
    foreach (string arg in (string[])["gateway", "--model", modelPath, "--urls"])
        context.Args.Add(arg);
    context.Args.Add(ReferenceExpression.Create($"http://127.0.0.1:{gatewayHttp.Property(EndpointProperty.TargetPort)}"));
    foreach (var replica in replicas)
    {
        context.Args.Add("--replica");
        context.Args.Add(replica.GetEndpoint("http"));
    }
    foreach (var replica in replicas)
    {
        context.Args.Add("--kv-events");
        context.Args.Add(ReferenceExpression.Create($"tcp://127.0.0.1:{replica.GetEndpoint("kv-events").Property(EndpointProperty.Port)}"));
    }
});
foreach (var replica in replicas)
    gateway.WithReference(replica).WaitFor(replica);

builder.Build().Run();
