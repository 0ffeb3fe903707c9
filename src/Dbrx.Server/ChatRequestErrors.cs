using System.Text.RegularExpressions;
using Dbrx.ConstrainedDecoding;
using Dbrx.Extensions.AI;
using Microsoft.AspNetCore.Http;

namespace Dbrx.Server;

/// <summary>
/// What a chat request that failed before its answer started tells its client: the status, OpenAI's error type, the
/// request field at fault (<c>param</c>) and a message in the terms of the fields the client sent. The chat client's
/// errors name .NET members (<c>ChatOptions.MaxOutputTokens</c>, the engine's <c>MaxNewTokens</c>) for in-process
/// callers; here they become the wire's names. Anything else is a 500 whose message says only where to look: the
/// server's log, under the request's id. Its details (libtorch's messages, stack frames, paths) never reach a client.
/// </summary>
internal static partial class ChatRequestErrors
{
    /// <summary>.NET names in the chat client's and the engine's messages, and the wire field each stands for.</summary>
    private static readonly Dictionary<string, string> WireNames = new(StringComparer.Ordinal)
    {
        ["Temperature"] = "temperature",
        ["TopP"] = "top_p",
        ["TopK"] = "top_k",
        ["MinP"] = "min_p",
        ["RepetitionPenalty"] = "repetition_penalty",
        ["FrequencyPenalty"] = "frequency_penalty",
        ["PresencePenalty"] = "presence_penalty",
        ["LogitBias"] = "logit_bias",
        ["StopSequences"] = "stop",
        ["Seed"] = "seed",
        ["ResponseFormat"] = "response_format",
        ["Tools"] = "tools",
        ["ToolMode"] = "tool_choice",
        ["AllowMultipleToolCalls"] = "parallel_tool_calls",
        ["Messages"] = "messages",
    };

    /// <summary>The refusal for <paramref name="error"/>.</summary>
    /// <param name="error">What failed.</param>
    /// <param name="request">The request as mapped, when it got that far (for the names of its fields).</param>
    /// <param name="requestId">The request's id, which the log's entry for a 500 carries.</param>
    public static OpenAIRequestException Translate(Exception error, MappedChatRequest? request, string requestId) => error switch
    {
        OpenAIRequestException known => known,
        DbrxChatBusyException => new(StatusCodes.Status429TooManyRequests, "The server is busy: its queue of requests is full. Retry after the time in Retry-After.", code: "rate_limit_exceeded", type: "rate_limit_error"),
        DbrxChatContextLengthException tooLong => TooLong(tooLong, request),
        JsonSchemaException schema => Schema(schema, request),
        ArgumentException invalid => Invalid(invalid, request),
        _ => ServerError(requestId),
    };

    /// <summary>The body of a 500 (and of a stream's error event): where to look, nothing of what failed.</summary>
    public static OpenAIRequestException ServerError(string requestId) =>
        new(StatusCodes.Status500InternalServerError, $"The server failed to answer; see its log (request id {requestId}).", type: "server_error");

    private static OpenAIRequestException TooLong(DbrxChatContextLengthException error, MappedChatRequest? request)
    {
        string maxTokens = request?.MaxTokensParam ?? "max_tokens";
        RequestFieldNames fields = request?.Fields ?? RequestFieldNames.ChatCompletions;
        string prompt = $"{(error.PromptTokensAtLeast ? "at least " : "")}{error.PromptTokens:N0} tokens";
        string what = $"The prompt ({fields.Prompt}) is {prompt}";
        string message = error.PromptTokens >= error.ContextLength
            ? $"{what}, which leaves no room for an answer in this model's context of {error.ContextLength:N0} tokens. Shorten '{fields.Messages}'."
            : $"{what}; with '{maxTokens}' of {error.MaxOutputTokens:N0} that is more than this model's context of {error.ContextLength:N0} tokens. Shorten '{fields.Messages}' or lower '{maxTokens}'.";
        return new(StatusCodes.Status400BadRequest, message, fields.Messages, code: "context_length_exceeded");
    }

    private static OpenAIRequestException Schema(JsonSchemaException error, MappedChatRequest? request)
    {
        RequestFieldNames fields = request?.Fields ?? RequestFieldNames.ChatCompletions;
        string param = fields.Schema;
        string where = $"'{fields.ResponseFormat}'";
        if (error.ToolName is { } tool)
        {
            int index = request?.Options.Tools?.Select(t => t.Name).ToList().IndexOf(tool) ?? -1;
            param = index >= 0 ? fields.ToolParametersOf(index) : "tools";
            where = $"the parameters of tool '{tool}'";
        }
        // The limits a schema can exceed are the server's options: named so its operator knows which to raise.
        string reason = LimitName().Replace(error.Reason, "the server's limit $1");
        return new(StatusCodes.Status400BadRequest, $"JSON schema keyword '{error.Keyword}' at {error.SchemaPath} in {where}: {reason}", param, code: "invalid_json_schema");
    }

    private static OpenAIRequestException Invalid(ArgumentException error, MappedChatRequest? request)
    {
        string Wire(string name) => name switch
        {
            "MaxOutputTokens" or "MaxNewTokens" => request?.MaxTokensParam ?? "max_tokens",
            "ResponseFormat" or "Messages" when request is not null => name == "Messages" ? request.Fields.Messages : request.Fields.ResponseFormat,
            _ => WireNames.GetValueOrDefault(name, name),
        };
        string message = error.ParamName is { } parameter ? error.Message.Replace($" (Parameter '{parameter}')", "", StringComparison.Ordinal) : error.Message;
        string? param = null;
        message = DotNetName().Replace(message, match =>
        {
            param ??= Wire(match.Value);
            return $"'{Wire(match.Value)}'";
        });
        if (error is DbrxChatOptionException option)
            param = Wire(option.OptionName);
        return new(StatusCodes.Status400BadRequest, message, param);
    }

    [GeneratedRegex(@"\b(MaxOutputTokens|MaxNewTokens|Temperature|TopP|TopK|MinP|RepetitionPenalty|FrequencyPenalty|PresencePenalty|LogitBias|StopSequences|ResponseFormat|ToolMode|AllowMultipleToolCalls)\b")]
    private static partial Regex DotNetName();

    [GeneratedRegex(@"\((Max[A-Za-z]+)\)")]
    private static partial Regex LimitName();
}
