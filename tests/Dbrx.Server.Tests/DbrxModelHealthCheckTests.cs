using Dbrx.Extensions.AI;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Dbrx.Server.Tests;

/// <summary>/health/ready's check over real clients: loading until the model is loaded, unhealthy with the reason when loading fails.</summary>
/// <remarks>
/// Not beside the shared server: these clients' engines publish on the engine's meter name, and OpenTelemetry merges
/// instruments of the same name across meters, so disposing one stops the server's exporter reporting the engine's
/// gauges (which the llm-d tests read).
/// </remarks>
[Collection("Load")]
public sealed class DbrxModelHealthCheckTests(TinyModel model)
{
    private static Task<HealthCheckResult> Check(IChatClient client) =>
        new DbrxModelHealthCheck(client).CheckHealthAsync(new HealthCheckContext(), TestContext.Current.CancellationToken);

    [Fact]
    public async Task ReadyOnceTheModelHasLoaded()
    {
        using var client = new DbrxChatClient(new DbrxChatClientOptions { ModelPath = model.Directory, Device = "cpu" });
        Assert.Equal(HealthStatus.Degraded, (await Check(client)).Status);

        await client.LoadAsync(cancellationToken: TestContext.Current.CancellationToken);

        Assert.Equal(DbrxModelState.Loaded, client.ModelState);
        Assert.Equal(HealthStatus.Healthy, (await Check(client)).Status);
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

            await Assert.ThrowsAnyAsync<Exception>(() => client.LoadAsync(cancellationToken: TestContext.Current.CancellationToken));
            HealthCheckResult result = await Check(client);

            Assert.Equal(DbrxModelState.Failed, client.ModelState);
            Assert.Equal(HealthStatus.Unhealthy, result.Status);
            Assert.Contains("model.safetensors", result.Description, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(broken, recursive: true);
        }
    }

}
