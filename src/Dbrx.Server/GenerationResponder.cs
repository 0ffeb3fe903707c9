using System.Text.Json;
using Dbrx.Server.Wire;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Dbrx.Server;

/// <summary>
/// What every generating endpoint does with a request once it has read it: checks the model, runs it on the chat
/// client, and answers with the whole answer or, with <c>stream</c>, server-sent chunks ending in <c>data: [DONE]</c>,
/// in the endpoint's <see cref="IAnswerFormat"/>. The request is cancelled, and its batch row freed, when the client
/// disconnects or the host stops; its outcome, first token and usage are counted (<see cref="RequestObservation"/>).
/// </summary>
/// <remarks>
/// The model's first update is awaited before the response starts, so every failure the engine reports up front (an
/// over-long prompt, a full queue) still gets its own status: 400, or 429 with <c>Retry-After</c>. A failure after
/// streaming has begun ends the stream with an error event.
/// </remarks>
internal sealed class GenerationResponder(IChatClient client, ServedModel model, DbrxServerOptions options, DbrxServerMetrics metrics, IHostApplicationLifetime lifetime, ILogger<GenerationResponder> logger)
{
    /// <summary>Reads the request with <paramref name="read"/> and answers it in the format <paramref name="format"/> makes for it.</summary>
    public async Task<IResult> RespondAsync(HttpContext context, Func<CancellationToken, Task<MappedChatRequest>> read, Func<MappedChatRequest, IAnswerFormat> format)
    {
        RequestObservation observation = metrics.Observe();
        var stop = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted, lifetime.ApplicationStopping);
        IAsyncEnumerator<ChatResponseUpdate>? updates = null;
        MappedChatRequest? request = null;
        bool streaming = false;
        try
        {
            request = await read(stop.Token);
            if (request.Model != model.Id)
                throw ModelsEndpoint.NotFound(request.Model, model);
            IAnswerFormat answer = format(request);
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
            observation.End(RequestObservation.Ok);
            return answer.Whole(all);
        }
        catch (Exception e)
        {
            return Refuse(context, e, request, observation);
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

    /// <summary>The chunks of a streamed answer, as server-sent event data, whose first update is already <c>Current</c>.</summary>
    private async IAsyncEnumerable<string> Stream(IAsyncEnumerator<ChatResponseUpdate> updates, CancellationTokenSource stop, RequestObservation observation, IAnswerFormat answer, string requestId)
    {
        using (stop)
        await using (updates)
        {
            try
            {
                Exception? failure = null;
                while (true)
                {
                    foreach (string chunk in answer.Chunks(updates.Current))
                        yield return chunk;
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
                    observation.End(RequestObservation.Ok);
                    yield return "[DONE]";
                }
                else if (!(failure is OperationCanceledException && stop.IsCancellationRequested))
                {
                    logger.LogError(failure, "A streamed answer failed after it started (request id {RequestId}).", requestId);
                    observation.End(RequestObservation.Error);
                    OpenAIRequestException error = ChatRequestErrors.ServerError(requestId);
                    yield return JsonSerializer.Serialize(new OpenAIErrorResponse(new OpenAIError(error.Message, error.Type, null, null)), OpenAIJson.Wire.OpenAIErrorResponse);
                }
            }
            finally
            {
                // Not ended above: the client went away (or the host is stopping) mid-stream. No-op otherwise.
                observation.End(RequestObservation.Cancelled);
            }
        }
    }

    /// <summary>The error response for a request that failed before its answer started, with its outcome counted.</summary>
    private IResult Refuse(HttpContext context, Exception error, MappedChatRequest? request, RequestObservation observation)
    {
        // The client went away: whatever failed on the way (a cancelled read or generation, a reset while the body was
        // read, which Kestrel may report before it aborts the request) is no fault.
        if (context.RequestAborted.IsCancellationRequested || error is ConnectionResetException)
        {
            observation.End(RequestObservation.Cancelled);
            return Results.Empty;
        }
        OpenAIRequestException refusal = error is OperationCanceledException or ObjectDisposedException && lifetime.ApplicationStopping.IsCancellationRequested
            ? new(StatusCodes.Status503ServiceUnavailable, "The server is shutting down.", type: "server_error")
            : ChatRequestErrors.Translate(error, request, context.TraceIdentifier);
        if (refusal.Status == StatusCodes.Status500InternalServerError)
            logger.LogError(error, "A request failed (request id {RequestId}).", context.TraceIdentifier);
        if (refusal.Status == StatusCodes.Status429TooManyRequests)
            context.Response.Headers.RetryAfter = options.RetryAfterSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
        observation.End(RequestObservation.ForStatus(refusal.Status));
        return refusal.ToResult();
    }
}
