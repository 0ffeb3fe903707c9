using System.Text.Json;
using Dbrx.Extensions.AI;
using Dbrx.Server.Wire;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.AI;

namespace Dbrx.Server;

/// <summary>
/// <c>POST /v1/completions</c>: OpenAI's legacy text completion, for a base model: the prompt's tokens are fed as they
/// are (<see cref="OpenAICompletionMapper"/>), and the answer is one <c>text_completion</c> or, with <c>stream</c>,
/// server-sent chunks. Limits, API keys, errors, cancellation and metrics are a chat completion's
/// (<see cref="GenerationResponder"/>).
/// </summary>
internal sealed class CompletionsEndpoint(GenerationResponder responder, ServedModel model, DbrxServerOptions options)
{
    public Task<IResult> HandleAsync(HttpContext context) => responder.RespondAsync(context, async stop =>
    {
        CompletionRequest body = await RequestBodyReader.ReadAsync(context, options.MaxRequestBodyBytes, OpenAIJson.Wire.CompletionRequest, stop);
        return new Format(OpenAICompletionMapper.ToChatRequest(body, options), model.Id);
    });

    /// <summary>A text completion, or its chunks; each choice's log-probability offsets run on across its chunks.</summary>
    private sealed class Format(MappedChatRequest request, string model) : ChunkedAnswerFormat(request, "cmpl-", model)
    {
        private readonly Dictionary<int, int> offsets = [];

        protected override IResult Whole(IReadOnlyList<ChatResponseUpdate> updates) =>
            Results.Json(OpenAICompletionMapper.ToCompletion(updates, Stream.Id, Stream.Model, Stream.Created, Request.LogProbabilities), OpenAIJson.Wire.TextCompletion);

        protected override IEnumerable<string> Chunks(ChatResponseUpdate update)
        {
            int offset = offsets.GetValueOrDefault(update.GetChoiceIndex());
            IEnumerable<TextCompletion> made = OpenAICompletionMapper.ToChunks(update, Stream, ref offset);
            offsets[update.GetChoiceIndex()] = offset;
            return made.Select(chunk => JsonSerializer.Serialize(chunk, OpenAIJson.Wire.TextCompletion));
        }
    }
}
