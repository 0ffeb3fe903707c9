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
        await using var answer = new ModelAnswer(context, lifetime, observation);
        MappedResponsesRequest? request = null;
        try
        {
            ResponseCreateRequest body = await ChatCompletionRequestReader.ReadAsync(context, options.MaxRequestBodyBytes, OpenAIJson.Wire.ResponseCreateRequest, answer.Cancellation);
            request = OpenAIResponsesMapper.ToChatRequest(body, await PreviousItemsAsync(body.PreviousResponseId, answer.Cancellation), options);
            if (request.Chat.Model != model.Id)
                throw ModelsEndpoint.NotFound(request.Chat.Model, model);
            var writer = new ResponseEventWriter(new ResponseHeader("resp_" + Guid.NewGuid().ToString("N"), DateTimeOffset.UtcNow.ToUnixTimeSeconds(), model.Id, request));
            await answer.StartAsync(client, request.Chat);
            if (request.Chat.Stream)
                return TypedResults.ServerSentEvents(answer.Stream(new StreamedResponse(writer, (final, json) => SaveAsync(request, final, json)), logger));
            foreach (ChatResponseUpdate update in await answer.ReadToEndAsync())
                Discard(writer.Add(update));
            Discard(writer.Finish());
            string json = JsonSerializer.Serialize(writer.Final!, OpenAIJson.Wire.ResponseObject);
            await SaveAsync(request, writer.Final!, json);
            observation.End(RequestObservation.Ok);
            return Results.Text(json, "application/json");
        }
        catch (Exception e)
        {
            return refusal.Refuse(context, e, request?.Chat, observation);
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

    /// <summary>Runs the writer over events no one reads: a whole response needs only the state they leave.</summary>
    private static void Discard(IEnumerable<ResponseStreamEvent> events)
    {
        foreach (ResponseStreamEvent _ in events)
        {
        }
    }

    /// <summary>A streamed response's events, named by their type; once it is complete, it is stored (when asked).</summary>
    private sealed class StreamedResponse(ResponseEventWriter writer, Func<ResponseObject, string, Task> save) : IAnswerEvents<SseItem<string>>
    {
        public IEnumerable<SseItem<string>> Start() => writer.Start().Select(Sse);

        public IEnumerable<SseItem<string>> Add(ChatResponseUpdate update) => writer.Add(update).Select(Sse);

        public async ValueTask<IEnumerable<SseItem<string>>> FinishAsync()
        {
            List<SseItem<string>> events = [.. writer.Finish().Select(Sse)];
            await save(writer.Final!, JsonSerializer.Serialize(writer.Final!, OpenAIJson.Wire.ResponseObject));
            return events;
        }

        public SseItem<string> Fail(string message) => Sse(writer.Fail(message));
    }

    private static SseItem<string> Sse(ResponseStreamEvent e) => new(JsonSerializer.Serialize(e, OpenAIJson.Wire.ResponseStreamEvent), e.Type);
}
