using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;

namespace Dbrx.Server;

/// <summary>
/// Reads every endpoint's request body (a chat or text completion's, a response's, a tokenization's) by the same rules:
/// no more than <see cref="DbrxServerOptions.MaxRequestBodyBytes"/> (else 413), all of it (a body cut short is a 400),
/// JSON that parses (else 400 saying where), fields of the right JSON type (else 400 naming the field).
/// </summary>
internal static partial class RequestBodyReader
{
    /// <summary>Reads a body of type <typeparamref name="T"/>, the endpoint's request.</summary>
    public static async Task<T> ReadAsync<T>(HttpContext context, long maxBytes, JsonTypeInfo<T> type, CancellationToken cancellationToken)
    {
        if (context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } limit)
            limit.MaxRequestBodySize = maxBytes;
        if (context.Request.ContentLength > maxBytes)
            throw TooLarge(context, maxBytes);
        try
        {
            return await JsonSerializer.DeserializeAsync(context.Request.Body, type, cancellationToken)
                ?? throw new OpenAIRequestException(StatusCodes.Status400BadRequest, "The request body must be a JSON object, not null.");
        }
        catch (BadHttpRequestException e) when (e.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            throw TooLarge(context, maxBytes);
        }
        catch (BadHttpRequestException e)
        {
            // Kestrel's own refusal of the body, such as one that ends before its Content-Length: the client's fault.
            throw new OpenAIRequestException(e.StatusCode, $"The request body could not be read: {e.Message}");
        }
        catch (JsonException e)
        {
            throw Invalid(e);
        }
    }

    /// <summary>
    /// The 413. The rest of the body is never read, so the connection closes after the response; saying so keeps a
    /// client from sending its next request on it.
    /// </summary>
    private static OpenAIRequestException TooLarge(HttpContext context, long maxBytes)
    {
        context.Response.Headers.Connection = "close";
        return new(StatusCodes.Status413PayloadTooLarge, $"The request body is larger than this server's limit of {maxBytes} bytes (DbrxServerOptions.MaxRequestBodyBytes).", code: "request_too_large");
    }

    /// <summary>
    /// A 400 from the JSON reader's error: the field (its path, as <c>messages[2].content</c>) and the JSON type it must
    /// have, or where the body stops being JSON.
    /// </summary>
    internal static OpenAIRequestException Invalid(JsonException e)
    {
        string where = e.LineNumber is { } line ? $" (line {line + 1}, byte {e.BytePositionInLine + 1})" : "";
        string? field = e.Path is null or "$" ? null : e.Path.StartsWith("$.", StringComparison.Ordinal) ? e.Path[2..] : e.Path[1..];
        string reason = e.Message;
        int cut = reason.IndexOf(" Path: ", StringComparison.Ordinal);
        if (cut >= 0)
            reason = reason[..cut];
        if (field is not null && ConvertedTo().Match(reason) is { Success: true } conversion)
            return OpenAIRequestException.Invalid(field, $"Invalid type for '{field}': expected {JsonTypeOf(conversion.Groups[1].Value)}{where}.");
        return new OpenAIRequestException(StatusCodes.Status400BadRequest, $"The request body is not valid JSON{(field is null ? "" : $" at '{field}'")}{where}: {reason}", field);
    }

    private static string JsonTypeOf(string clrType) => clrType switch
    {
        _ when clrType.Contains("System.String", StringComparison.Ordinal) => "a string",
        _ when clrType.Contains("System.Boolean", StringComparison.Ordinal) => "a boolean",
        _ when clrType.Contains("System.Int", StringComparison.Ordinal) => "an integer",
        _ when clrType.Contains("System.Double", StringComparison.Ordinal) => "a number",
        _ when clrType.Contains("List`1", StringComparison.Ordinal) => "an array",
        _ => "an object",
    };

    [GeneratedRegex("^The JSON value could not be converted to (.+?)\\.?$")]
    private static partial Regex ConvertedTo();
}
