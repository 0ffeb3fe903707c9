using Dbrx.Extensions.AI;
using Dbrx.Server.Tests;
using Microsoft.Extensions.AI;

namespace Dbrx.Gateway.Tests;

/// <summary>The tiny model's prompt token ids for a conversation, rendered in-process by the DBRX client (not from a request's JSON, as the gateway does).</summary>
internal static class TinyPrompt
{
    public static int[] TokenIds(TinyModel model, string system, params string[] turns)
    {
        using var client = new DbrxChatClient(new DbrxChatClientOptions { ModelPath = model.Directory });
        List<ChatMessage> messages = [new(ChatRole.System, system), .. turns.Select((text, i) => new ChatMessage(i % 2 == 0 ? ChatRole.User : ChatRole.Assistant, text))];
        return client.RenderPrompt(messages);
    }
}
