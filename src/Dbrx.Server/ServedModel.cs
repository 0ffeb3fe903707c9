using Microsoft.Extensions.AI;

namespace Dbrx.Server;

/// <summary>The one model the server answers for: the chat client's model id, and when the server started serving it.</summary>
internal sealed class ServedModel(IChatClient client)
{
    public string Id { get; } = client.GetService<ChatClientMetadata>()?.DefaultModelId ?? "dbrx";

    public long Created { get; } = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
}
