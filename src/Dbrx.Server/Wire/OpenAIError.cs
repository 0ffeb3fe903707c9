using System.Text.Json.Serialization;

namespace Dbrx.Server.Wire;

/// <summary>OpenAI's error body: <c>{"error": {"message", "type", "param", "code"}}</c>.</summary>
internal sealed record OpenAIErrorResponse(OpenAIError Error);

/// <summary>What went wrong, the kind of error, the request field at fault (or null) and a machine-readable code (or null).</summary>
internal sealed record OpenAIError(
    string Message,
    string Type,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.Never)] string? Param,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.Never)] string? Code);
