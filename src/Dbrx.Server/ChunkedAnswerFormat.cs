using System.Net.ServerSentEvents;
using System.Text.Json;
using Dbrx.Server.Wire;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.AI;

namespace Dbrx.Server;

/// <summary>
/// A chat or a text completion's answer, which differ only in their completion and chunk objects: streamed, the chunks
/// are unnamed server-sent event data ending in <c>data: [DONE]</c>, and a failure after the stream started ends it
/// with an OpenAI error object.
/// </summary>
/// <param name="request">The request answered.</param>
/// <param name="idPrefix">The answer's id before its unique part (<c>chatcmpl-</c>, <c>cmpl-</c>).</param>
/// <param name="model">The served model's id, which the answer names.</param>
internal abstract class ChunkedAnswerFormat(MappedChatRequest request, string idPrefix, string model) : IAnswerFormat
{
    public MappedChatRequest Request { get; } = request;

    /// <summary>The answer's id, model and creation time, and what each choice's chunks have said so far.</summary>
    protected ChunkStream Stream { get; } = new(idPrefix + Guid.NewGuid().ToString("N"), model, DateTimeOffset.UtcNow.ToUnixTimeSeconds(), request.IncludeUsage, request.LogProbabilities);

    public Task<IResult> WholeAsync(IReadOnlyList<ChatResponseUpdate> updates) => Task.FromResult(Whole(updates));

    public IEnumerable<SseItem<string>> Start() => [];

    public IEnumerable<SseItem<string>> Add(ChatResponseUpdate update) => Chunks(update).Select(chunk => new SseItem<string>(chunk));

    public Task<IEnumerable<SseItem<string>>> FinishAsync() => Task.FromResult<IEnumerable<SseItem<string>>>([new("[DONE]")]);

    public SseItem<string> Fail(string message) =>
        new(JsonSerializer.Serialize(new OpenAIErrorResponse(new OpenAIError(message, "server_error", null, null)), OpenAIJson.Wire.OpenAIErrorResponse));

    /// <summary>The completion with the whole answer.</summary>
    protected abstract IResult Whole(IReadOnlyList<ChatResponseUpdate> updates);

    /// <summary>The chunks (JSON documents) one update becomes.</summary>
    protected abstract IEnumerable<string> Chunks(ChatResponseUpdate update);
}
