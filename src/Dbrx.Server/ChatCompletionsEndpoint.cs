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
        await using var answer = new ModelAnswer(context, lifetime, observation);
        MappedChatRequest? request = null;
        try
        {
            request = OpenAIChatMapper.ToChatRequest(await ChatCompletionRequestReader.ReadAsync(context, options.MaxRequestBodyBytes, answer.Cancellation), options);
            if (request.Model != model.Id)
                throw ModelsEndpoint.NotFound(request.Model, model);
            string id = "chatcmpl-" + Guid.NewGuid().ToString("N");
            long created = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
            await answer.StartAsync(client, request);
            if (request.Stream)
                return TypedResults.ServerSentEvents(answer.Stream(new ChunkStream(id, model.Id, created, request.IncludeUsage, request.LogProbabilities), logger));
            List<ChatResponseUpdate> all = await answer.ReadToEndAsync();
            observation.End(RequestObservation.Ok);
            return Results.Json(OpenAIChatMapper.ToCompletion(all, id, model.Id, created, request.LogProbabilities), OpenAIJson.Wire.ChatCompletion);
        }
        catch (Exception e)
        {
            return refusal.Refuse(context, e, request, observation);
        }
    }
}
