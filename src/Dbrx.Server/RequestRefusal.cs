using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Dbrx.Server;

/// <summary>
/// The error response for a model request (a chat completion, a response) that failed before its answer started, with
/// its outcome counted: the client's fault as 4xx, a full queue as 429 with <c>Retry-After</c>, a stopping host as 503,
/// anything else as a logged 500. A client that went away gets nothing.
/// </summary>
internal sealed class RequestRefusal(DbrxServerOptions options, IHostApplicationLifetime lifetime, ILogger<RequestRefusal> logger)
{
    public IResult Refuse(HttpContext context, Exception error, MappedChatRequest? request, RequestObservation observation)
    {
        // The client went away: whatever failed on the way (a cancelled read or generation, a reset while the body was
        // read, which Kestrel may report before it aborts the request) is no fault.
        if (context.RequestAborted.IsCancellationRequested || error is ConnectionResetException)
        {
            observation.End(RequestObservation.Cancelled);
            return Results.Empty;
        }
        OpenAIRequestException refusal = error is OperationCanceledException or ObjectDisposedException && lifetime.ApplicationStopping.IsCancellationRequested
            ? new(StatusCodes.Status503ServiceUnavailable, "The server is shutting down.", type: "server_error")
            : ChatRequestErrors.Translate(error, request, context.TraceIdentifier);
        if (refusal.Status == StatusCodes.Status500InternalServerError)
            logger.LogError(error, "{Path} failed (request id {RequestId}).", context.Request.Path, context.TraceIdentifier);
        if (refusal.Status == StatusCodes.Status429TooManyRequests)
            context.Response.Headers.RetryAfter = options.RetryAfterSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
        observation.End(RequestObservation.ForStatus(refusal.Status));
        return refusal.ToResult();
    }
}
