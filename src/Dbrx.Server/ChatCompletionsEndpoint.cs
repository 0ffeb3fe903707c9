using System.Text.Json;
using Dbrx.Server.Wire;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Dbrx.Server;

/// <summary>
/// <c>POST /v1/chat/completions</c>: reads and checks the request (<see cref="OpenAIChatMapper"/>), runs it on the
/// chat client, and answers with one completion or, with <c>stream</c>, server-sent chunks ending in
/// <c>data: [DONE]</c>. The request is cancelled, and its batch row freed, when the client disconnects or the host
/// stops.
/// </summary>
/// <remarks>
/// The model's first update is awaited before the response starts, so every failure the engine reports up front (an
/// over-long prompt, a full queue) still gets its own status: 400, or 429 with <c>Retry-After</c>. A failure after
/// streaming has begun ends the stream with an error event.
/// </remarks>
internal sealed class ChatCompletionsEndpoint(IChatClient client, ServedModel model, DbrxServerOptions options, DbrxServerMetrics metrics, IHostApplicationLifetime lifetime, RequestRefusal refusal, ILogger<ChatCompletionsEndpoint> logger)
{
    public async Task<IResult> HandleAsync(HttpContext context)
    {
        RequestObservation observation = metrics.Observe();
        var stop = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted, lifetime.ApplicationStopping);
        IAsyncEnumerator<ChatResponseUpdate>? updates = null;
        MappedChatRequest? request = null;
        bool streaming = false;
        try
        {
            request = OpenAIChatMapper.ToChatRequest(await ChatCompletionRequestReader.ReadAsync(context, options.MaxRequestBodyBytes, stop.Token), options);
            if (request.Model != model.Id)
                throw ModelsEndpoint.NotFound(request.Model, model);
            string id = "chatcmpl-" + Guid.NewGuid().ToString("N");
            long created = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
            updates = client.GetStreamingResponseAsync(request.Messages, request.Options, stop.Token).GetAsyncEnumerator(stop.Token);
            if (!await updates.MoveNextAsync())
                throw new InvalidOperationException("The chat client ended the answer without any update.");
            observation.Saw(updates.Current);
            if (request.Stream)
            {
                streaming = true;
                return TypedResults.ServerSentEvents(Stream(updates, stop, observation, new ChunkStream(id, model.Id, created, request.IncludeUsage, request.LogProbabilities), context.TraceIdentifier));
            }
            var all = new List<ChatResponseUpdate> { updates.Current };
            while (await updates.MoveNextAsync())
            {
                observation.Saw(updates.Current);
                all.Add(updates.Current);
            }
            observation.End(RequestObservation.Ok);
            return Results.Json(OpenAIChatMapper.ToCompletion(all, id, model.Id, created, request.LogProbabilities), OpenAIJson.Wire.ChatCompletion);
        }
        catch (Exception e)
        {
            return refusal.Refuse(context, e, request, observation);
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
    private async IAsyncEnumerable<string> Stream(IAsyncEnumerator<ChatResponseUpdate> updates, CancellationTokenSource stop, RequestObservation observation, ChunkStream chunks, string requestId)
    {
        using (stop)
        await using (updates)
        {
            try
            {
                Exception? failure = null;
                while (true)
                {
                    foreach (ChatCompletionChunk chunk in OpenAIChatMapper.ToChunks(updates.Current, chunks))
                        yield return JsonSerializer.Serialize(chunk, OpenAIJson.Wire.ChatCompletionChunk);
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
                    logger.LogError(failure, "A streamed chat completion failed after it started (request id {RequestId}).", requestId);
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
}
