using System.Text.Json;
using Dbrx.Server.Wire;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.AI;

namespace Dbrx.Server;

/// <summary>
/// <c>POST /v1/chat/completions</c>: reads and checks the request (<see cref="OpenAIChatMapper"/>) and answers with one
/// completion or, with <c>stream</c>, server-sent chunks (<see cref="GenerationResponder"/> runs it).
/// </summary>
internal sealed class ChatCompletionsEndpoint(GenerationResponder responder, ServedModel model, DbrxServerOptions options)
{
    public Task<IResult> HandleAsync(HttpContext context) => responder.RespondAsync(context, async stop =>
    {
        ChatCompletionRequest body = await RequestBodyReader.ReadAsync(context, options.MaxRequestBodyBytes, OpenAIJson.Wire.ChatCompletionRequest, stop);
        return new Format(OpenAIChatMapper.ToChatRequest(body, options), model.Id);
    });

    /// <summary>A chat completion, or its <c>chat.completion.chunk</c>s.</summary>
    private sealed class Format(MappedChatRequest request, string model) : ChunkedAnswerFormat(request, "chatcmpl-", model)
    {
        protected override IResult Whole(IReadOnlyList<ChatResponseUpdate> updates) =>
            Results.Json(OpenAIChatMapper.ToCompletion(updates, Stream.Id, Stream.Model, Stream.Created, Request.LogProbabilities), OpenAIJson.Wire.ChatCompletion);

        protected override IEnumerable<string> Chunks(ChatResponseUpdate update) =>
            OpenAIChatMapper.ToChunks(update, Stream).Select(chunk => JsonSerializer.Serialize(chunk, OpenAIJson.Wire.ChatCompletionChunk));
    }
}
