using Dbrx.Inference.Generation;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;

namespace Dbrx.Gateway;

/// <summary>
/// The first step of the proxy pipeline: reads a request's body whole (at most
/// <see cref="DbrxGatewayOptions.MaxRequestBodyBytes"/>, else 413), puts it back as a stream that can be read again
/// (each retry sends it anew), and for a chat completion computes its prompt's block hashes for the prefix-aware
/// policy, which must choose synchronously.
/// </summary>
internal sealed class RequestBodyReader(DbrxGatewayOptions options, IPromptRenderer? renderer)
{
    public async Task InvokeAsync(HttpContext context, Func<Task> next)
    {
        if (context.Request.ContentLength > options.MaxRequestBodyBytes)
        {
            await GatewayErrors.WriteAsync(context, StatusCodes.Status413PayloadTooLarge, $"The request body is larger than the gateway's limit of {options.MaxRequestBodyBytes} bytes (DbrxGatewayOptions.MaxRequestBodyBytes).", "invalid_request_error", "request_too_large");
            return;
        }
        if (context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } limit)
            limit.MaxRequestBodySize = options.MaxRequestBodyBytes;
        byte[] body;
        try
        {
            using var buffer = new MemoryStream();
            await context.Request.Body.CopyToAsync(buffer, context.RequestAborted);
            body = buffer.ToArray();
        }
        catch (BadHttpRequestException e)
        {
            await GatewayErrors.WriteAsync(context, e.StatusCode, $"The request body could not be read: {e.Message}", "invalid_request_error", null);
            return;
        }
        context.Request.Body = new MemoryStream(body, writable: false);
        if (renderer is not null && HttpMethods.IsPost(context.Request.Method) && context.Request.Path.StartsWithSegments("/v1/chat/completions", StringComparison.Ordinal) && !context.Request.Path.StartsWithSegments("/v1/chat/completions/render", StringComparison.Ordinal)
            && await renderer.RenderAsync(body, context.RequestAborted) is { } tokens)
            context.Features.Set(new PromptBlocksFeature(DbrxPrefixBlockHash.Chain(tokens, options.PrefixBlockTokens)));
        await next();
    }
}
