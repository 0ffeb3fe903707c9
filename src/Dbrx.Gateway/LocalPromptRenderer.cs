using Dbrx.Extensions.AI;
using Dbrx.Server;

namespace Dbrx.Gateway;

/// <summary>
/// Renders in the gateway with the served model's own template and tokenizer (its folder, no weights loaded), through
/// the very code a replica maps and renders a request with (<see cref="DbrxChatPromptRenderer"/>). Chosen over
/// asking a replica's render endpoint: it costs no round trip and works while every replica is busy (measured: see
/// the README's Gateway section).
/// </summary>
internal sealed class LocalPromptRenderer(string modelPath, string? systemPrompt) : IPromptRenderer, IDisposable
{
    private readonly DbrxChatClient client = new(new DbrxChatClientOptions { ModelPath = modelPath, SystemPrompt = systemPrompt });

    public ValueTask<int[]?> RenderAsync(ReadOnlyMemory<byte> body, CancellationToken cancellationToken) =>
        ValueTask.FromResult(DbrxChatPromptRenderer.TryRender(body.Span, client));

    public void Dispose() => client.Dispose();
}
