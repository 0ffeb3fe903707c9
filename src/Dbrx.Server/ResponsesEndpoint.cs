using System.Net.ServerSentEvents;
using System.Text.Json;
using Dbrx.Server.Wire;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Dbrx.Server;

/// <summary>
/// OpenAI's Responses API over the same chat client as chat completions: <c>POST /v1/responses</c> reads and checks
/// the request (<see cref="OpenAIResponsesMapper"/>), continues a stored conversation for <c>previous_response_id</c>,
/// runs it, and answers with the response or, with <c>stream</c>, its typed server-sent events
/// (<see cref="ResponseEventWriter"/>); a response with <c>store</c> is kept (<see cref="IResponseStore"/>) for
/// <c>GET</c> and <c>DELETE /v1/responses/{id}</c> and for follow-ups. Limits, errors, cancellation on disconnect and
/// metrics are chat completions': the first update is awaited before the response starts, so failures up front get
/// their own status.
/// </summary>
internal sealed class ResponsesEndpoint(IChatClient client, ServedModel model, DbrxServerOptions options, DbrxServerMetrics metrics, IHostApplicationLifetime lifetime, RequestRefusal refusal, IResponseStore store, ILogger<ResponsesEndpoint> logger)
{
    public async Task<IResult> CreateAsync(HttpContext context)
    {
        RequestObservation observation = metrics.Observe();
        var stop = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted, lifetime.ApplicationStopping);
        IAsyncEnumerator<ChatResponseUpdate>? updates = null;
        MappedResponsesRequest? request = null;
        bool streaming = false;
        try
        {
            ResponseCreateRequest body = await ChatCompletionRequestReader.ReadAsync(context, options.MaxRequestBodyBytes, OpenAIJson.Wire.ResponseCreateRequest, stop.Token);
            request = OpenAIResponsesMapper.ToChatRequest(body, await PreviousItemsAsync(body.PreviousResponseId, stop.Token), options);
            if (request.Chat.Model != model.Id)
                throw ModelsEndpoint.NotFound(request.Chat.Model, model);
            var writer = new ResponseEventWriter(new ResponseHeader("resp_" + Guid.NewGuid().ToString("N"), DateTimeOffset.UtcNow.ToUnixTimeSeconds(), model.Id, request));
            updates = client.GetStreamingResponseAsync(request.Chat.Messages, request.Chat.Options, stop.Token).GetAsyncEnumerator(stop.Token);
            if (!await updates.MoveNextAsync())
                throw new InvalidOperationException("The chat client ended the answer without any update.");
            observation.Saw(updates.Current);
            if (request.Chat.Stream)
            {
                streaming = true;
                return TypedResults.ServerSentEvents(Stream(updates, stop, observation, writer, request, context.TraceIdentifier));
            }
            // A whole response is the events' final state: the writer keeps it as they are made.
            do
                Make(writer.Add(updates.Current));
            while (await Next(updates, observation));
            Make(writer.Finish());
            string json = JsonSerializer.Serialize(writer.Final!, OpenAIJson.Wire.ResponseObject);
            await SaveAsync(request, writer.Final!, json);
            observation.End(RequestObservation.Ok);
            return Results.Text(json, "application/json");
        }
        catch (Exception e)
        {
            return refusal.Refuse(context, e, request?.Chat, observation);
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

    /// <summary><c>GET /v1/responses/{id}</c>: a stored response as it was served.</summary>
    public async Task<IResult> GetAsync(string id, CancellationToken cancellationToken) =>
        await store.GetAsync(id, cancellationToken) is { } stored ? Results.Text(stored.Json, "application/json") : NotFound(id).ToResult();

    /// <summary><c>DELETE /v1/responses/{id}</c>: OpenAI's deletion object.</summary>
    public async Task<IResult> DeleteAsync(string id, CancellationToken cancellationToken) =>
        await store.DeleteAsync(id, cancellationToken) ? Results.Json(new ResponseDeletedWire(id), OpenAIJson.Wire.ResponseDeletedWire) : NotFound(id).ToResult();

    private static OpenAIRequestException NotFound(string id) =>
        new(StatusCodes.Status404NotFound, $"Response with id '{id}' not found.", "response_id", code: "not_found");

    /// <summary>The stored conversation a follow-up continues: its input items, then its output. An unknown id is OpenAI's 400.</summary>
    private async Task<IReadOnlyList<JsonElement>> PreviousItemsAsync(string? id, CancellationToken cancellationToken)
    {
        if (id is null)
            return [];
        StoredResponse stored = await store.GetAsync(id, cancellationToken)
            ?? throw new OpenAIRequestException(StatusCodes.Status400BadRequest, $"Previous response with id '{id}' not found.", "previous_response_id", code: "previous_response_not_found");
        using JsonDocument items = JsonDocument.Parse(stored.InputItems);
        using JsonDocument response = JsonDocument.Parse(stored.Json);
        return [.. items.RootElement.EnumerateArray().Select(i => i.Clone()), .. response.RootElement.GetProperty("output").EnumerateArray().Select(i => i.Clone())];
    }

    private Task SaveAsync(MappedResponsesRequest request, ResponseObject response, string json) => request.Store
        ? store.SaveAsync(new StoredResponse(response.Id, json, JsonSerializer.Serialize(request.Items, OpenAIJson.Wire.ListJsonElement)), CancellationToken.None)
        : Task.CompletedTask;

    private static void Make(IEnumerable<ResponseStreamEvent> events)
    {
        foreach (ResponseStreamEvent _ in events)
        {
        }
    }

    private static async ValueTask<bool> Next(IAsyncEnumerator<ChatResponseUpdate> updates, RequestObservation observation)
    {
        if (!await updates.MoveNextAsync())
            return false;
        observation.Saw(updates.Current);
        return true;
    }

    /// <summary>The events of a streamed response, whose first update is already <c>Current</c>.</summary>
    private async IAsyncEnumerable<SseItem<string>> Stream(IAsyncEnumerator<ChatResponseUpdate> updates, CancellationTokenSource stop, RequestObservation observation, ResponseEventWriter writer, MappedResponsesRequest request, string requestId)
    {
        using (stop)
        await using (updates)
        {
            try
            {
                foreach (ResponseStreamEvent e in writer.Start())
                    yield return Sse(e);
                Exception? failure = null;
                while (true)
                {
                    foreach (ResponseStreamEvent e in writer.Add(updates.Current))
                        yield return Sse(e);
                    try
                    {
                        if (!await Next(updates, observation))
                            break;
                    }
                    catch (Exception e)
                    {
                        failure = e;
                        break;
                    }
                }
                if (failure is null)
                {
                    foreach (ResponseStreamEvent e in writer.Finish())
                        yield return Sse(e);
                    await SaveAsync(request, writer.Final!, JsonSerializer.Serialize(writer.Final!, OpenAIJson.Wire.ResponseObject));
                    observation.End(RequestObservation.Ok);
                }
                else if (!(failure is OperationCanceledException && stop.IsCancellationRequested))
                {
                    logger.LogError(failure, "A streamed response failed after it started (request id {RequestId}).", requestId);
                    observation.End(RequestObservation.Error);
                    yield return Sse(writer.Fail(ChatRequestErrors.ServerError(requestId).Message));
                }
            }
            finally
            {
                // Not ended above: the client went away (or the host is stopping) mid-stream. No-op otherwise.
                observation.End(RequestObservation.Cancelled);
            }
        }
    }

    private static SseItem<string> Sse(ResponseStreamEvent e) => new(JsonSerializer.Serialize(e, OpenAIJson.Wire.ResponseStreamEvent), e.Type);
}
