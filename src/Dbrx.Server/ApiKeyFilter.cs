using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Http;

namespace Dbrx.Server;

/// <summary>
/// Lets a <c>/v1</c> request through only with <c>Authorization: Bearer KEY</c> for one of
/// <see cref="DbrxServerOptions.ApiKeys"/> (401 otherwise); with no keys configured, everyone. Keys are compared as
/// SHA-256 hashes in constant time, against every configured key, so neither a key's contents nor its length leak
/// through timing.
/// </summary>
internal sealed class ApiKeyFilter(DbrxServerOptions options, DbrxServerMetrics metrics) : IEndpointFilter
{
    private readonly byte[][] keys = [.. options.ApiKeys.Select(Hash)];

    public ValueTask<object?> InvokeAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        if (keys.Length == 0)
            return next(context);
        string? header = context.HttpContext.Request.Headers.Authorization;
        OpenAIRequestException? refusal = null;
        if (header is null || !header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
            refusal = new(StatusCodes.Status401Unauthorized, "Missing API key: send it as 'Authorization: Bearer KEY'.", code: "invalid_api_key");
        else if (!Accepts(header["Bearer ".Length..].Trim()))
            refusal = new(StatusCodes.Status401Unauthorized, "Incorrect API key provided.", code: "invalid_api_key");
        if (refusal is null)
            return next(context);
        metrics.Ended(RequestObservation.Unauthorized);
        return ValueTask.FromResult<object?>(refusal.ToResult());
    }

    private bool Accepts(string key)
    {
        byte[] hash = Hash(key);
        bool accepted = false;
        foreach (byte[] known in keys)
            accepted |= CryptographicOperations.FixedTimeEquals(hash, known);
        return accepted;
    }

    private static byte[] Hash(string key) => SHA256.HashData(Encoding.UTF8.GetBytes(key));
}
