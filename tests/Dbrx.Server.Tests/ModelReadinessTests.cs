using Dbrx.Inference.Generation;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Logging.Abstractions;

namespace Dbrx.Server.Tests;

/// <summary>/health/ready's check: loading (503), loaded (200), failed (503 with the reason), with a client whose load is held.</summary>
public sealed class ModelReadinessTests
{
    /// <summary>A client whose model "loads" when the test says so, or fails.</summary>
    private sealed class HeldClient(Task load) : IChatClient
    {
        public object? GetService(Type serviceType, object? serviceKey = null)
        {
            if (serviceType != typeof(DbrxGenerator))
                return null;
            load.GetAwaiter().GetResult();
            return null;
        }

        public Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default) => throw new NotSupportedException();

        public IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default) => throw new NotSupportedException();

        public void Dispose() { }
    }

    private static async Task<HealthCheckResult> Check(ModelReadiness readiness) => await readiness.CheckHealthAsync(new HealthCheckContext());

    [Fact]
    public async Task ReadyOnceTheModelHasLoaded()
    {
        var load = new TaskCompletionSource();
        using var readiness = new ModelReadiness(new HeldClient(load.Task), NullLogger<ModelReadiness>.Instance);
        await readiness.StartAsync(TestContext.Current.CancellationToken);

        Assert.Equal(HealthStatus.Degraded, (await Check(readiness)).Status);
        load.SetResult();
        await readiness.ExecuteTask!;
        Assert.Equal(HealthStatus.Healthy, (await Check(readiness)).Status);
    }

    [Fact]
    public async Task AFailedLoadIsUnhealthyWithTheReason()
    {
        using var readiness = new ModelReadiness(new HeldClient(Task.FromException(new IOException("model.safetensors is truncated"))), NullLogger<ModelReadiness>.Instance);
        await readiness.StartAsync(TestContext.Current.CancellationToken);
        await readiness.ExecuteTask!;

        HealthCheckResult result = await Check(readiness);
        Assert.Equal(HealthStatus.Unhealthy, result.Status);
        Assert.Contains("model.safetensors is truncated", result.Description, StringComparison.Ordinal);
    }
}
