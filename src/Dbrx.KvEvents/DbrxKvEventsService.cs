using Dbrx.Extensions.AI;
using Microsoft.Extensions.Hosting;

namespace Dbrx.KvEvents;

/// <summary>
/// Sends the application's <see cref="DbrxChatClient"/>'s prefix-cache changes to the <see cref="DbrxKvEventPublisher"/>
/// from the host's start (before any request, so a subscriber that connects early sees every block) to its stop.
/// </summary>
internal sealed class DbrxKvEventsService(DbrxChatClient client, DbrxKvEventPublisher publisher) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        client.KvCacheChanged += Publish;
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken)
    {
        client.KvCacheChanged -= Publish;
        return Task.CompletedTask;
    }

    private void Publish(object? sender, Inference.Generation.DbrxKvCacheChangedEventArgs changes) => publisher.Publish(changes);
}
