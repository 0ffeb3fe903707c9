using System.Text.Json;
using Dbrx.Extensions.AI;
using Dbrx.Server.Wire;

namespace Dbrx.Server;

/// <summary>
/// Renders an OpenAI chat completions request body to the token ids the server would prefill for it: the body read
/// and mapped as <c>POST /v1/chat/completions</c> reads it, then rendered by the DBRX client's template and tokenizer.
/// A router uses it to hash a request's prefix-cache blocks exactly as a replica will.
/// </summary>
public static class DbrxChatPromptRenderer
{
    /// <summary>The prompt's token ids, or <see langword="null"/> when the server would refuse the body (it says why to the client itself).</summary>
    /// <param name="requestJson">The request body, UTF-8 JSON.</param>
    /// <param name="client">The DBRX client of the served model (its model need not be loaded).</param>
    /// <param name="limits">The server's request limits; the defaults when <see langword="null"/>.</param>
    public static int[]? TryRender(ReadOnlySpan<byte> requestJson, DbrxChatClient client, DbrxServerOptions? limits = null)
    {
        ArgumentNullException.ThrowIfNull(client);
        try
        {
            ChatCompletionRequest? request = JsonSerializer.Deserialize(requestJson, OpenAIJson.Wire.ChatCompletionRequest);
            if (request is null)
                return null;
            MappedChatRequest mapped = OpenAIChatMapper.ToChatRequest(request, limits ?? new DbrxServerOptions());
            return client.RenderPrompt(mapped.Messages, mapped.Options);
        }
        catch (Exception e) when (e is JsonException or OpenAIRequestException or ArgumentException or InvalidOperationException)
        {
            return null;
        }
    }
}
