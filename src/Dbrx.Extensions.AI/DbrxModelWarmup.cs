using Dbrx.Inference.Checkpoints;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Dbrx.Extensions.AI;

/// <summary>
/// Loads a registered client's model once the host has started (so a host that fails to start loads nothing), when
/// <see cref="DbrxChatClientOptions.LoadEagerly"/> is set: in the background, so the application starts answering at
/// once, with its progress logged every tenth of the way. <see cref="DbrxChatClient.ModelState"/> reports it; a failed
/// load is logged, and the first request tries again.
/// </summary>
internal sealed class DbrxModelWarmup(DbrxChatClient client, bool loadEagerly, IHostApplicationLifetime lifetime, ILogger? logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!loadEagerly || client.IsLoaded)
            return;
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using (lifetime.ApplicationStarted.Register(() => started.TrySetResult()))
        {
            try
            {
                await started.Task.WaitAsync(stoppingToken);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
        try
        {
            await client.LoadAsync(new LoggedProgress(logger), stoppingToken);
            logger?.LogInformation("The DBRX model is loaded: requests run at once.");
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // The host stopped during the load.
        }
        catch (Exception e)
        {
            logger?.LogError(e, "Loading the DBRX model failed; requests will try to load it again.");
        }
    }

    /// <summary>Logs a load's progress at each tenth of its bytes.</summary>
    private sealed class LoggedProgress(ILogger? logger) : IProgress<DbrxTensorProgress>
    {
        private int reported;

        public void Report(DbrxTensorProgress value)
        {
            int tenths = (int)(10 * value.Fraction);
            if (tenths <= reported)
                return;
            reported = tenths;
            logger?.LogInformation("Loading DBRX: {Percent}% ({Tensors} of {Total} tensors).", tenths * 10, value.TensorsDone, value.TensorsTotal);
        }
    }
}
