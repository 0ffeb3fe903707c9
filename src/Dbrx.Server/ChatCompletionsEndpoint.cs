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
    public Task<IResult> HandleAsync(HttpContext context) => responder.RespondAsync(
        context,
        async stop => OpenAIChatMapper.ToChatRequest(await ChatCompletionRequestReader.ReadAsync(context, options.MaxRequestBodyBytes, stop), options),
        request => new Format(request, model.Id));

    /// <summary>A chat completion, or its <c>chat.completion.chunk</c>s.</summary>
    private sealed class Format(MappedChatRequest request, string model) : IAnswerFormat
    {
        private readonly ChunkStream chunks = new("chatcmpl-" + Guid.NewGuid().ToString("N"), model, DateTimeOffset.UtcNow.ToUnixTimeSeconds(), request.IncludeUsage, request.LogProbabilities);

        public IResult Whole(IReadOnlyList<ChatResponseUpdate> updates) =>
            Results.Json(OpenAIChatMapper.ToCompletion(updates, chunks.Id, chunks.Model, chunks.Created, request.LogProbabilities), OpenAIJson.Wire.ChatCompletion);

        public IEnumerable<string> Chunks(ChatResponseUpdate update) =>
            OpenAIChatMapper.ToChunks(update, chunks).Select(chunk => JsonSerializer.Serialize(chunk, OpenAIJson.Wire.ChatCompletionChunk));
    }
}
