using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Yarp.ReverseProxy.Forwarder;

namespace Dbrx.Gateway;

/// <summary>
/// Ends a server-sent event stream whose replica failed mid-answer with an OpenAI error event, as a replica ends its own
/// failed streams, instead of a cut connection. YARP aborts a response it cannot finish (through
/// <see cref="IHttpRequestLifetimeFeature.Abort"/>, or an HTTP/2 reset); for an event stream that has started, the
/// abort is held back, the error event written and the response completed. Other responses are aborted as before.
/// </summary>
internal sealed class BrokenStreamEnding
{
    public async Task InvokeAsync(HttpContext context, Func<Task> next)
    {
        IHttpRequestLifetimeFeature lifetime = context.Features.GetRequiredFeature<IHttpRequestLifetimeFeature>();
        var deferring = new DeferredAbort(lifetime, context.Response);
        context.Features.Set<IHttpRequestLifetimeFeature>(deferring);
        IHttpResetFeature? reset = context.Features.Get<IHttpResetFeature>();
        // Without the reset feature YARP falls back to Abort, which is deferred.
        context.Features.Set<IHttpResetFeature>(null);
        try
        {
            await next();
        }
        finally
        {
            context.Features.Set(lifetime);
            context.Features.Set(reset);
        }
        if (!deferring.Deferred)
            return;
        ForwarderError error = context.Features.Get<IForwarderErrorFeature>()?.Error ?? ForwarderError.ResponseBodyDestination;
        if (error == ForwarderError.ResponseBodyClient || context.RequestAborted.IsCancellationRequested)
        {
            lifetime.Abort();
            return;
        }
        string message = $"The replica serving this stream failed before its answer ended ({error}); the answer is incomplete. Request id {context.TraceIdentifier}.";
        try
        {
            await context.Response.WriteAsync($"data: {GatewayErrors.Json(message, "server_error", "replica_failed")}\n\n", context.RequestAborted);
            await context.Response.CompleteAsync();
        }
        catch (Exception e) when (e is IOException or OperationCanceledException or InvalidOperationException)
        {
            lifetime.Abort();
        }
    }

    /// <summary>Holds back an abort of a started event stream; any other abort goes through.</summary>
    private sealed class DeferredAbort(IHttpRequestLifetimeFeature inner, HttpResponse response) : IHttpRequestLifetimeFeature
    {
        public bool Deferred { get; private set; }

        public CancellationToken RequestAborted
        {
            get => inner.RequestAborted;
            set => inner.RequestAborted = value;
        }

        public void Abort()
        {
            if (response.HasStarted && response.ContentType?.StartsWith("text/event-stream", StringComparison.OrdinalIgnoreCase) == true)
                Deferred = true;
            else
                inner.Abort();
        }
    }
}
