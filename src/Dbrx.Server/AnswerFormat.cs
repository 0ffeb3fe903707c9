using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.AI;

namespace Dbrx.Server;

/// <summary>
/// How one endpoint writes one request's answer: the whole answer from all of the chat client's updates, or, streamed,
/// the server-sent event data each update becomes. A chat completion and a text completion differ only here.
/// </summary>
internal interface IAnswerFormat
{
    /// <summary>The response with the whole answer.</summary>
    IResult Whole(IReadOnlyList<ChatResponseUpdate> updates);

    /// <summary>The event data (JSON documents) one update becomes in a stream; none is fine.</summary>
    IEnumerable<string> Chunks(ChatResponseUpdate update);
}
