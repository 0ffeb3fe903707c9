using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Dbrx.Server;

/// <summary>
/// The error response for every request of the API (a generation that failed before its answer started, a render, a
/// tokenization), with a generation's outcome counted: the client's fault as 4xx (<see cref="ChatRequestErrors"/>), a
/// full queue as 429 with <c>Retry-After</c>, a stopping host as 503, anything else as a logged 500. A client that went
/// away gets nothing.
/// </summary>
internal sealed class RequestRefusal(DbrxServerOptions options, IHostApplicationLifetime lifetime, ILogger<RequestRefusal> logger)
{
    /// <summary>The response for <paramref name="error"/>.</summary>
    /// <param name="context">The HTTP request.</param>
    /// <param name="error">What failed.</param>
    /// <param name="request">The request as mapped, when it got that far (for the names of its fields).</param>
    /// <param name="observation">A generation's metrics, ended with the outcome; none for requests that are not counted.</param>
    public IResult Refuse(HttpContext context, Exception error, MappedChatRequest? request, RequestObservation? observation = null)
    {
        // The client went away: whatever failed on the way (a cancelled read or generation, a reset while the body was
        // read, which Kestrel may report before it aborts the request) is no fault.
        if (context.RequestAborted.IsCancellationRequested || error is ConnectionResetException)
        {
            observation?.End(RequestObservation.Cancelled);
            return Results.Empty;
        }
        OpenAIRequestException refusal = error is OperationCanceledException or ObjectDisposedException && lifetime.ApplicationStopping.IsCancellationRequested
            ? new(StatusCodes.Status503ServiceUnavailable, "The server is shutting down.", type: "server_error")
            : ChatRequestErrors.Translate(error, request, context.TraceIdentifier);
        if (refusal.Status == StatusCodes.Status500InternalServerError)
            logger.LogError(error, "{Path} failed (request id {RequestId}).", context.Request.Path, context.TraceIdentifier);
        if (refusal.Status == StatusCodes.Status429TooManyRequests)
            context.Response.Headers.RetryAfter = options.RetryAfterSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
        observation?.End(RequestObservation.ForStatus(refusal.Status));
        return refusal.ToResult();
    }
}
