using Dbrx.Extensions.AI;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging.Abstractions;

namespace Dbrx.Server.Tests;

/// <summary>/health/ready's check over real clients: ready once the model is loaded, unhealthy with the reason when loading fails.</summary>
public sealed class ModelReadinessTests(TinyModel model)
{
    private static async Task<HealthCheckResult> ReadinessAfterLoading(IChatClient client)
    {
        using var readiness = new ModelReadiness(client, new StartedHost(), NullLogger<ModelReadiness>.Instance);
        Assert.NotEqual(HealthStatus.Healthy, (await readiness.CheckHealthAsync(new HealthCheckContext())).Status);
        await readiness.StartAsync(TestContext.Current.CancellationToken);
        await readiness.ExecuteTask!;
        return await readiness.CheckHealthAsync(new HealthCheckContext());
    }

    /// <summary>A host that has started (readiness loads only then) and is not stopping.</summary>
    private sealed class StartedHost : IHostApplicationLifetime
    {
        public CancellationToken ApplicationStarted => new(canceled: true);

        public CancellationToken ApplicationStopping => CancellationToken.None;

        public CancellationToken ApplicationStopped => CancellationToken.None;

        public void StopApplication()
        {
        }
    }

    [Fact]
    public async Task ReadyOnceTheModelHasLoaded()
    {
        using var client = new DbrxChatClient(new DbrxChatClientOptions { ModelPath = model.Directory, Device = "cpu" });
        Assert.False(client.IsLoaded);
        Assert.Equal(HealthStatus.Healthy, (await ReadinessAfterLoading(client)).Status);
        Assert.True(client.IsLoaded);
    }

    [Fact]
    public async Task AFailedLoadIsUnhealthyWithTheReason()
    {
        string broken = Path.Combine(Path.GetTempPath(), "dbrx-broken-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(broken);
        try
        {
            File.Copy(Path.Combine(model.Directory, "config.json"), Path.Combine(broken, "config.json"));
            byte[] weights = File.ReadAllBytes(Path.Combine(model.Directory, "model.safetensors"));
            File.WriteAllBytes(Path.Combine(broken, "model.safetensors"), weights[..(weights.Length / 2)]);
            using var client = new DbrxChatClient(new DbrxChatClientOptions { ModelPath = broken, Device = "cpu" });

            HealthCheckResult result = await ReadinessAfterLoading(client);

            Assert.Equal(HealthStatus.Unhealthy, result.Status);
            Assert.Contains("model.safetensors", result.Description, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(broken, recursive: true);
        }
    }
}
