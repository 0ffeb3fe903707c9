using System.Net.ServerSentEvents;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.AI;

namespace Dbrx.Server;

/// <summary>
/// How one endpoint writes one request's answer: the request as the chat client runs it, the response with the whole
/// answer, and, streamed, the server-sent events its updates become. A chat completion, a text completion and a
/// response differ only here; <see cref="GenerationResponder"/> does the rest.
/// </summary>
internal interface IAnswerFormat
{
    /// <summary>The request, as mapped for the chat client.</summary>
    MappedChatRequest Request { get; }

    /// <summary>The response with the whole answer, from all of the chat client's updates, once anything it leaves behind is done (a response stored).</summary>
    Task<IResult> WholeAsync(IReadOnlyList<ChatResponseUpdate> updates);

    /// <summary>The events a stream opens with, before the first update's.</summary>
    IEnumerable<SseItem<string>> Start();

    /// <summary>The events one update becomes; none is fine.</summary>
    IEnumerable<SseItem<string>> Add(ChatResponseUpdate update);

    /// <summary>The events after the last update, once the answer is complete and anything it leaves behind is done.</summary>
    Task<IEnumerable<SseItem<string>>> FinishAsync();

    /// <summary>The event that ends a stream that failed after it started; <paramref name="message"/> says only where to look.</summary>
    SseItem<string> Fail(string message);
}
