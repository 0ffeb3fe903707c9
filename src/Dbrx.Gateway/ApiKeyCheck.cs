using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Http;

namespace Dbrx.Gateway;

/// <summary>
/// When <see cref="DbrxGatewayOptions.ApiKeys"/> are set, refuses a request without one of them
/// (<c>Authorization: Bearer</c>) with OpenAI's 401, compared in constant time, before its body is read; the replicas
/// then get <see cref="DbrxGatewayOptions.ReplicaApiKey"/> or the client's header. Without keys, nothing is checked
/// here and the header goes through to the replicas.
/// </summary>
internal sealed class ApiKeyCheck(DbrxGatewayOptions options)
{
    private readonly byte[][] keys = [.. options.ApiKeys.Select(Encoding.UTF8.GetBytes)];

    public async Task InvokeAsync(HttpContext context, Func<Task> next)
    {
        if (keys.Length > 0 && !Allowed(context.Request.Headers.Authorization.ToString()))
        {
            context.Response.Headers.WWWAuthenticate = "Bearer";
            await GatewayErrors.WriteAsync(context, StatusCodes.Status401Unauthorized, "Incorrect or missing API key: send it as 'Authorization: Bearer <key>'.", "invalid_request_error", "invalid_api_key");
            return;
        }
        if (options.ReplicaApiKey is { } replicaKey)
            context.Request.Headers.Authorization = "Bearer " + replicaKey;
        await next();
    }

    private bool Allowed(string header)
    {
        if (!header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
            return false;
        byte[] given = Encoding.UTF8.GetBytes(header["Bearer ".Length..].Trim());
        bool found = false;
        foreach (byte[] key in keys)
            found |= CryptographicOperations.FixedTimeEquals(given, key);
        return found;
    }
}
