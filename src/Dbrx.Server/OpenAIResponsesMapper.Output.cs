using System.Text.Json;
using Dbrx.Server.Wire;
using Microsoft.Extensions.AI;

namespace Dbrx.Server;

/// <summary>What every event and the final object of one response share: its id, creation time, model and request.</summary>
internal sealed record ResponseHeader(string Id, long CreatedAt, string Model, MappedResponsesRequest Request);

// The response direction: the response object and its output items, echoing the request's settings as OpenAI does.
// ResponseEventWriter decides, update by update, which items there are; a whole response is its final object.
internal static partial class OpenAIResponsesMapper
{
    private static readonly JsonElement AutoToolChoice = JsonSerializer.SerializeToElement("auto");

    /// <summary>The response object with <paramref name="status"/>, its output so far, and its usage once known.</summary>
    public static ResponseObject Response(ResponseHeader header, string status, List<ResponseItemWire> output, UsageDetails? usage = null, ResponseErrorWire? error = null)
    {
        ResponseCreateRequest request = header.Request.Request;
        return new ResponseObject
        {
            Id = header.Id,
            CreatedAt = header.CreatedAt,
            Status = status,
            Error = error,
            IncompleteDetails = status == "incomplete" ? new IncompleteDetailsWire("max_output_tokens") : null,
            Instructions = request.Instructions,
            MaxOutputTokens = request.MaxOutputTokens,
            Model = header.Model,
            Output = output,
            ParallelToolCalls = request.ParallelToolCalls ?? true,
            PreviousResponseId = request.PreviousResponseId,
            Store = header.Request.Store,
            Temperature = request.Temperature,
            Text = new ResponseTextWire { Format = request.Text?.Format ?? new ResponseTextFormatWire { Type = "text" } },
            ToolChoice = request.ToolChoice is { ValueKind: not JsonValueKind.Null } choice ? choice : AutoToolChoice,
            Tools = [.. request.Tools?.OfType<ResponseToolWire>() ?? []],
            TopP = request.TopP,
            Usage = usage is null ? null : Usage(usage),
            User = request.User,
            Metadata = request.Metadata ?? [],
        };
    }

    /// <summary>An assistant message with one <c>output_text</c> part (none while it is in progress).</summary>
    public static ResponseItemWire MessageItem(string id, string status, string? text) => new()
    {
        Type = "message",
        Id = id,
        Status = status,
        Role = "assistant",
        Content = text is null ? [] : [new OutputTextWire { Text = text }],
    };

    /// <summary>A function call item; <paramref name="arguments"/> is empty while it is in progress.</summary>
    public static ResponseItemWire CallItem(string id, string status, FunctionCallContent call, string arguments) => new()
    {
        Type = "function_call",
        Id = id,
        Status = status,
        CallId = call.CallId,
        Name = call.Name,
        Arguments = arguments,
    };

    private static ResponseUsageWire Usage(UsageDetails usage) => new()
    {
        InputTokens = usage.InputTokenCount ?? 0,
        InputTokensDetails = new InputTokensDetailsWire { CachedTokens = usage.CachedInputTokenCount ?? 0 },
        OutputTokens = usage.OutputTokenCount ?? 0,
        TotalTokens = usage.TotalTokenCount ?? (usage.InputTokenCount ?? 0) + (usage.OutputTokenCount ?? 0),
    };
}
