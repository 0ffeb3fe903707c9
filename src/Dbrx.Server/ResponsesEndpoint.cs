using System.Net.ServerSentEvents;
using System.Text.Json;
using Dbrx.Server.Wire;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.AI;

namespace Dbrx.Server;

/// <summary>
/// OpenAI's Responses API over the same chat client as chat completions: <c>POST /v1/responses</c> reads and checks
/// the request (<see cref="OpenAIResponsesMapper"/>), continues a stored conversation for <c>previous_response_id</c>,
/// and answers with the response or, with <c>stream</c>, its typed server-sent events
/// (<see cref="ResponseEventWriter"/>); a response with <c>store</c> is kept (<see cref="IResponseStore"/>) for
/// <c>GET</c> and <c>DELETE /v1/responses/{id}</c> and for follow-ups. Limits, errors, cancellation on disconnect and
/// metrics are chat completions' (<see cref="GenerationResponder"/> runs it).
/// </summary>
internal sealed class ResponsesEndpoint(GenerationResponder responder, ServedModel model, DbrxServerOptions options, IResponseStore store)
{
    public Task<IResult> CreateAsync(HttpContext context) => responder.RespondAsync(context, async stop =>
    {
        ResponseCreateRequest body = await RequestBodyReader.ReadAsync(context, options.MaxRequestBodyBytes, OpenAIJson.Wire.ResponseCreateRequest, stop);
        MappedResponsesRequest request = OpenAIResponsesMapper.ToChatRequest(body, await PreviousItemsAsync(body.PreviousResponseId, stop), options);
        var writer = new ResponseEventWriter(new ResponseHeader("resp_" + Guid.NewGuid().ToString("N"), DateTimeOffset.UtcNow.ToUnixTimeSeconds(), model.Id, request));
        return new Format(request, writer, store);
    });

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

    /// <summary>
    /// A response, whole or as its events named by their type; one writer makes both, so they cannot differ. Once it is
    /// complete, it is stored (when asked) before it is answered, so a client can fetch or continue it at once.
    /// </summary>
    private sealed class Format(MappedResponsesRequest request, ResponseEventWriter writer, IResponseStore store) : IAnswerFormat
    {
        public MappedChatRequest Request => request.Chat;

        public async Task<IResult> WholeAsync(IReadOnlyList<ChatResponseUpdate> updates)
        {
            foreach (ChatResponseUpdate update in updates)
                Discard(writer.Add(update));
            Discard(writer.Finish());
            return Results.Text(await SaveAsync(), "application/json");
        }

        public IEnumerable<SseItem<string>> Start() => writer.Start().Select(Sse);

        public IEnumerable<SseItem<string>> Add(ChatResponseUpdate update) => writer.Add(update).Select(Sse);

        public async Task<IEnumerable<SseItem<string>>> FinishAsync()
        {
            List<SseItem<string>> events = [.. writer.Finish().Select(Sse)];
            await SaveAsync();
            return events;
        }

        public SseItem<string> Fail(string message) => Sse(writer.Fail(message));

        /// <summary>Stores the finished response when the request asked to; its JSON, as it is served.</summary>
        private async Task<string> SaveAsync()
        {
            string json = JsonSerializer.Serialize(writer.Final!, OpenAIJson.Wire.ResponseObject);
            if (request.Store)
                await store.SaveAsync(new StoredResponse(writer.Final!.Id, json, JsonSerializer.Serialize(request.Items, OpenAIJson.Wire.ListJsonElement)), CancellationToken.None);
            return json;
        }

        /// <summary>Runs the writer over events no one reads: a whole response needs only the state they leave.</summary>
        private static void Discard(IEnumerable<ResponseStreamEvent> events)
        {
            foreach (ResponseStreamEvent _ in events)
            {
            }
        }

        private static SseItem<string> Sse(ResponseStreamEvent e) => new(JsonSerializer.Serialize(e, OpenAIJson.Wire.ResponseStreamEvent), e.Type);
    }
}
