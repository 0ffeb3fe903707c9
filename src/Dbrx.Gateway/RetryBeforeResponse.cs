using Microsoft.AspNetCore.Http;
using Yarp.ReverseProxy.Forwarder;
using Yarp.ReverseProxy.Model;

namespace Dbrx.Gateway;

/// <summary>
/// Wraps load balancing, passive health and forwarding: when forwarding fails before anything of the response was
/// sent to the client (the replica refused the connection, died before its headers, timed out), the request goes to
/// another replica, at most <see cref="DbrxGatewayOptions.MaxRetries"/> more, never one already tried. Once a byte has
/// been sent the request is never repeated (the client could see an answer twice); see <see cref="BrokenStreamEnding"/>.
/// </summary>
internal sealed class RetryBeforeResponse(DbrxGatewayOptions options, GatewayMetrics metrics)
{
    public async Task InvokeAsync(HttpContext context, Func<Task> next)
    {
        IReverseProxyFeature proxy = context.GetReverseProxyFeature();
        IReadOnlyList<DestinationState> available = proxy.AvailableDestinations;
        var tried = new List<DestinationState>();
        while (true)
        {
            await next();
            if (proxy.ProxiedDestination is { } destination)
                metrics.Sent(destination.DestinationId);
            IForwarderErrorFeature? error = context.Features.Get<IForwarderErrorFeature>();
            if (error is null || !Retryable(error.Error) || context.Response.HasStarted || context.RequestAborted.IsCancellationRequested
                || tried.Count >= options.MaxRetries || proxy.ProxiedDestination is null)
                return;
            tried.Add(proxy.ProxiedDestination);
            List<DestinationState> others = [.. available.Where(d => !tried.Contains(d))];
            if (others.Count == 0)
                return;
            metrics.Retried(proxy.ProxiedDestination.DestinationId);
            // Back to the state before forwarding: no error, a clean response, the body from its start.
            context.Features.Set<IForwarderErrorFeature>(null);
            context.Response.Clear();
            context.Request.Body.Position = 0;
            proxy.AvailableDestinations = others;
            proxy.ProxiedDestination = null;
        }
    }

    /// <summary>The replica's failures; not the client's (it went away or sent a bad body) nor the gateway's own.</summary>
    private static bool Retryable(ForwarderError error) => error is ForwarderError.Request or ForwarderError.RequestTimedOut
        or ForwarderError.RequestBodyDestination or ForwarderError.ResponseHeaders or ForwarderError.ResponseBodyDestination;
}
