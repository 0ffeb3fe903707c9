using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Dbrx.Server;

/// <summary>
/// One request's answer from the chat client, the same for every API: cancelled when the client goes away or the host
/// stops; started with its first update awaited, so a failure up front (an over-long prompt, a full queue) still gets
/// the request's own status; then read whole, or streamed as the API's events. A stream logs a failure after it
/// started and ends with the API's error event (its details never sent), and counts a client that went away as
/// cancelled. Disposing of it ends the answer unless a stream has taken it over.
/// </summary>
internal sealed class ModelAnswer(HttpContext context, IHostApplicationLifetime lifetime, RequestObservation observation) : IAsyncDisposable
{
    private readonly CancellationTokenSource stop = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted, lifetime.ApplicationStopping);
    private IAsyncEnumerator<ChatResponseUpdate>? updates;
    private bool streaming;

    /// <summary>Cancelled when the client goes away or the host stops: for everything the request waits on.</summary>
    public CancellationToken Cancellation => stop.Token;

    /// <summary>Starts the answer and waits for its first update.</summary>
    public async Task StartAsync(IChatClient client, MappedChatRequest request)
    {
        updates = client.GetStreamingResponseAsync(request.Messages, request.Options, stop.Token).GetAsyncEnumerator(stop.Token);
        if (!await updates.MoveNextAsync())
            throw new InvalidOperationException("The chat client ended the answer without any update.");
        observation.Saw(updates.Current);
    }

    /// <summary>Every update of the started answer (the caller counts the request answered once it has its response).</summary>
    public async Task<List<ChatResponseUpdate>> ReadToEndAsync()
    {
        var all = new List<ChatResponseUpdate> { updates!.Current };
        while (await updates.MoveNextAsync())
        {
            observation.Saw(updates.Current);
            all.Add(updates.Current);
        }
        return all;
    }

    /// <summary>The started answer as <paramref name="events"/>' server-sent events; the stream owns the answer from here on.</summary>
    public IAsyncEnumerable<T> Stream<T>(IAnswerEvents<T> events, ILogger logger)
    {
        streaming = true;
        return Run(events, logger, context.TraceIdentifier);
    }

    public async ValueTask DisposeAsync()
    {
        if (streaming)
            return;
        if (updates is not null)
            await updates.DisposeAsync();
        stop.Dispose();
    }

    private async IAsyncEnumerable<T> Run<T>(IAnswerEvents<T> events, ILogger logger, string requestId)
    {
        IAsyncEnumerator<ChatResponseUpdate> updates = this.updates!;
        using (stop)
        await using (updates)
        {
            try
            {
                foreach (T e in events.Start())
                    yield return e;
                Exception? failure = null;
                while (true)
                {
                    foreach (T e in events.Add(updates.Current))
                        yield return e;
                    try
                    {
                        if (!await updates.MoveNextAsync())
                            break;
                        observation.Saw(updates.Current);
                    }
                    catch (Exception e)
                    {
                        failure = e;
                        break;
                    }
                }
                if (failure is null)
                {
                    foreach (T e in await events.FinishAsync())
                        yield return e;
                    observation.End(RequestObservation.Ok);
                }
                else if (!(failure is OperationCanceledException && stop.IsCancellationRequested))
                {
                    logger.LogError(failure, "A streamed answer failed after it started (request id {RequestId}).", requestId);
                    observation.End(RequestObservation.Error);
                    yield return events.Fail(ChatRequestErrors.ServerError(requestId).Message);
                }
            }
            finally
            {
                // Not ended above: the client went away (or the host is stopping) mid-stream. No-op otherwise.
                observation.End(RequestObservation.Cancelled);
            }
        }
    }
}
