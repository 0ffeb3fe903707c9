namespace Dbrx.Gateway;

/// <summary>Renders a chat completions request body to the token ids a replica would prefill for it.</summary>
internal interface IPromptRenderer
{
    /// <summary>The prompt's token ids, or null when the body is not a request the replicas would run (they answer its error themselves).</summary>
    ValueTask<int[]?> RenderAsync(ReadOnlyMemory<byte> body, CancellationToken cancellationToken);
}
