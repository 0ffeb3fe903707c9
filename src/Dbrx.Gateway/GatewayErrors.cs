using System.Text.Json;
using Microsoft.AspNetCore.Http;

namespace Dbrx.Gateway;

/// <summary>The gateway's own errors, in OpenAI's shape (<c>{"error": {"message", "type", "param", "code"}}</c>) as the replicas write theirs.</summary>
internal static class GatewayErrors
{
    /// <summary>Writes an error response.</summary>
    public static Task WriteAsync(HttpContext context, int status, string message, string type, string? code)
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = "application/json";
        return context.Response.WriteAsync(Json(message, type, code), context.RequestAborted);
    }

    /// <summary>The error body as JSON, also what ends a stream that broke (as an SSE <c>data:</c> event).</summary>
    public static string Json(string message, string type, string? code) =>
        JsonSerializer.Serialize(new { error = new { message, type, param = (string?)null, code } });
}
