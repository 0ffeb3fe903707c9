using System.Net.ServerSentEvents;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Dbrx.Server;

/// <summary>
/// What every generating endpoint (chat completions, text completions, responses) does with a request: reads it, checks
/// the model, runs it on the chat client, and answers with the whole answer or, with <c>stream</c>, server-sent events,
/// in the endpoint's <see cref="IAnswerFormat"/>. The request is cancelled, and its batch row freed, when the client
/// disconnects or the host stops; its outcome, first token and usage are counted (<see cref="RequestObservation"/>).
/// </summary>
/// <remarks>
/// The model's first update is awaited before the response starts, so every failure the engine reports up front (an
/// over-long prompt, a full queue) still gets its own status (<see cref="RequestRefusal"/>): 400, or 429 with
/// <c>Retry-After</c>. A failure after streaming has begun is logged and ends the stream with the format's error event,
/// which says only where to look.
/// </remarks>
internal sealed class GenerationResponder(IChatClient client, ServedModel model, DbrxServerMetrics metrics, IHostApplicationLifetime lifetime, RequestRefusal refusal, ILogger<GenerationResponder> logger)
{
    /// <summary>Reads the request with <paramref name="read"/>, as the format it is answered in, and answers it.</summary>
    /// <param name="context">The HTTP request.</param>
    /// <param name="read">Reads, checks and maps the body; cancelled when the client goes away or the host stops.</param>
    public async Task<IResult> RespondAsync(HttpContext context, Func<CancellationToken, Task<IAnswerFormat>> read)
    {
        RequestObservation observation = metrics.Observe();
        var stop = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted, lifetime.ApplicationStopping);
        IAsyncEnumerator<ChatResponseUpdate>? updates = null;
        IAnswerFormat? answer = null;
        bool streaming = false;
        try
        {
            answer = await read(stop.Token);
            MappedChatRequest request = answer.Request;
            if (request.Model != model.Id)
                throw ModelsEndpoint.NotFound(request.Model, model);
            updates = client.GetStreamingResponseAsync(request.Messages, request.Options, stop.Token).GetAsyncEnumerator(stop.Token);
            if (!await updates.MoveNextAsync())
                throw new InvalidOperationException("The chat client ended the answer without any update.");
            observation.Saw(updates.Current);
            if (request.Stream)
            {
                streaming = true;
                return TypedResults.ServerSentEvents(Stream(updates, stop, observation, answer, context.TraceIdentifier));
            }
            var all = new List<ChatResponseUpdate> { updates.Current };
            while (await updates.MoveNextAsync())
            {
                observation.Saw(updates.Current);
                all.Add(updates.Current);
            }
            IResult whole = await answer.WholeAsync(all);
            observation.End(RequestObservation.Ok);
            return whole;
        }
        catch (Exception e)
        {
            return refusal.Refuse(context, e, answer?.Request, observation);
        }
        finally
        {
            // A stream owns these from here on (see Stream).
            if (!streaming)
            {
                if (updates is not null)
                    await updates.DisposeAsync();
                stop.Dispose();
            }
        }
    }

    /// <summary>The events of a streamed answer whose first update is already <c>Current</c>.</summary>
    private async IAsyncEnumerable<SseItem<string>> Stream(IAsyncEnumerator<ChatResponseUpdate> updates, CancellationTokenSource stop, RequestObservation observation, IAnswerFormat answer, string requestId)
    {
        using (stop)
        await using (updates)
        {
            try
            {
                foreach (SseItem<string> e in answer.Start())
                    yield return e;
                Exception? failure = null;
                while (true)
                {
                    foreach (SseItem<string> e in answer.Add(updates.Current))
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
                    // Counted before the last events go out: a client that has read them may look at /metrics at once.
                    IEnumerable<SseItem<string>> last = await answer.FinishAsync();
                    observation.End(RequestObservation.Ok);
                    foreach (SseItem<string> e in last)
                        yield return e;
                }
                else if (!(failure is OperationCanceledException && stop.IsCancellationRequested))
                {
                    logger.LogError(failure, "A streamed answer failed after it started (request id {RequestId}).", requestId);
                    observation.End(RequestObservation.Error);
                    yield return answer.Fail(ChatRequestErrors.ServerError(requestId).Message);
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
