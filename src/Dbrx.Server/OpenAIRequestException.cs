using Dbrx.Server.Wire;
using Microsoft.AspNetCore.Http;

namespace Dbrx.Server;

/// <summary>
/// A request the server refuses, with what the client gets back: the HTTP status and OpenAI's error fields (the
/// message, the field at fault as <c>param</c>, a <c>code</c>).
/// </summary>
internal sealed class OpenAIRequestException(int status, string message, string? param = null, string? code = null, string type = "invalid_request_error")
    : Exception(message)
{
    public int Status { get; } = status;

    public string? Param { get; } = param;

    public string? Code { get; } = code;

    public string Type { get; } = type;

    /// <summary>The response: the status with OpenAI's error object.</summary>
    public IResult ToResult() =>
        Results.Json(new OpenAIErrorResponse(new OpenAIError(Message, Type, Param, Code)), OpenAIJson.Wire.OpenAIErrorResponse, statusCode: Status);

    /// <summary>A 400 for a field that has the wrong value.</summary>
    public static OpenAIRequestException Invalid(string param, string message) => new(StatusCodes.Status400BadRequest, message, param);
}
