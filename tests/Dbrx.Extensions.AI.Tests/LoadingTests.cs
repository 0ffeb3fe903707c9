using Dbrx.Inference.Checkpoints;
using Dbrx.Inference.Generation;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Dbrx.Extensions.AI.Tests;

/// <summary>Loading through the chat client: explicit, reported, logged, cancellable, and never a side effect of GetService.</summary>
public sealed class LoadingTests(TinyCheckpoint tiny) : IClassFixture<TinyCheckpoint>
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    /// <summary>Reports on the calling thread, so a test sees every report in order (Progress&lt;T&gt; posts them).</summary>
    private sealed class Recorder(Action<DbrxTensorProgress>? onReport = null) : IProgress<DbrxTensorProgress>
    {
        public List<DbrxTensorProgress> Reports { get; } = [];

        public void Report(DbrxTensorProgress value)
        {
            Reports.Add(value);
            onReport?.Invoke(value);
        }
    }

    [Fact]
    public async Task LoadAsync_reports_every_tensor_up_to_the_checkpoints_bytes()
    {
        using var client = new DbrxChatClient(tiny.Options());
        Assert.False(client.IsLoaded);
        var recorder = new Recorder();
        await client.LoadAsync(recorder, Ct);
        Assert.True(client.IsLoaded);

        long checkpointBytes = new FileInfo(Path.Combine(tiny.Directory, "model.safetensors")).Length;
        var last = recorder.Reports[^1];
        Assert.Equal(last.TensorsTotal, recorder.Reports.Count);
        Assert.Equal(Enumerable.Range(1, last.TensorsTotal), recorder.Reports.Select(r => r.TensorsDone));
        Assert.Equal(last.BytesTotal, last.BytesDone);
        // The data section of the file: all of it but the 8-byte length and the JSON header.
        Assert.InRange(last.BytesTotal, checkpointBytes - 100_000, checkpointBytes - 8);
        Assert.True(recorder.Reports.Zip(recorder.Reports.Skip(1)).All(p => p.First.BytesDone < p.Second.BytesDone));
        Assert.All(recorder.Reports, r => Assert.Equal("cpu", r.Device));

        // Loaded once: a second call and a request reuse it.
        await client.LoadAsync(recorder, Ct);
        Assert.Equal(last.TensorsTotal, recorder.Reports.Count);
        Assert.NotNull(client.GetService<DbrxGenerator>());
    }

    [Fact]
    public async Task A_cancelled_load_keeps_nothing_and_the_next_one_succeeds()
    {
        using var client = new DbrxChatClient(tiny.Options());
        using var cancel = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        var recorder = new Recorder(progress => { if (progress.TensorsDone == 3) cancel.Cancel(); });
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => client.LoadAsync(recorder, cancel.Token));
        Assert.Equal(3, recorder.Reports.Count);
        Assert.False(client.IsLoaded);
        Assert.Null(client.GetService<DbrxGenerator>());

        var response = await client.GetResponseAsync("Hi", new ChatOptions { MaxOutputTokens = 2 }, Ct);
        Assert.Equal(2L, response.Usage!.OutputTokenCount);
        Assert.True(client.IsLoaded);
    }

    [Fact]
    public async Task The_first_request_can_be_cancelled_while_the_model_loads()
    {
        using var client = new DbrxChatClient(tiny.Options());
        using var cancelled = new CancellationTokenSource();
        cancelled.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => client.GetResponseAsync("Hi", cancellationToken: cancelled.Token));
        Assert.False(client.IsLoaded);
    }

    [Fact]
    public void GetService_never_loads()
    {
        using var client = new DbrxChatClient(tiny.Options());
        Assert.Null(client.GetService<DbrxGenerator>());
        Assert.NotNull(client.GetService<IDbrxEngine>());
        Assert.False(client.IsLoaded);
    }

    [Fact]
    public async Task Loading_logs_its_start_and_end_through_the_applications_logger_factory()
    {
        var sink = new ListLoggerProvider();
        var services = new ServiceCollection().AddLogging(logging => logging.AddProvider(sink));
        services.AddDbrxChatClient(o =>
        {
            o.ModelPath = tiny.Directory;
            o.Device = "cpu";
        });
        using var provider = services.BuildServiceProvider();
        var client = provider.GetRequiredService<IChatClient>().GetService<DbrxChatClient>()!;
        await client.LoadAsync(cancellationToken: Ct);
        string log = string.Join("\n", sink.Messages);
        Assert.True(sink.Messages.Any(m => m.StartsWith($"Loading DBRX from {tiny.Directory}", StringComparison.Ordinal) && m.Contains("float32; embedding cpu")), log);
        Assert.True(sink.Messages.Any(m => m.StartsWith($"Loaded DBRX from {tiny.Directory} in ", StringComparison.Ordinal)), log);
    }
}
