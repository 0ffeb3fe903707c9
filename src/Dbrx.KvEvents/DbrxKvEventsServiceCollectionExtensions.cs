using Dbrx.KvEvents;
using Microsoft.Extensions.Hosting;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers the publisher of the chat client's prefix-cache events (llm-d's KV events).</summary>
public static class DbrxKvEventsServiceCollectionExtensions
{
    /// <summary>
    /// Publishes the prefix-cache changes of the application's <c>DbrxChatClient</c> (register it with
    /// <c>services.AddDbrxChatClient(...)</c>) on a ZeroMQ PUB socket in llm-d's format, from the host's start: the
    /// socket is bound then (an endpoint in use fails the start with a message naming it).
    /// </summary>
    /// <exception cref="ArgumentException">An option is invalid (the message names it).</exception>
    public static IServiceCollection AddDbrxKvEvents(this IServiceCollection services, Action<DbrxKvEventsOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configure);
        var options = new DbrxKvEventsOptions();
        configure(options);
        options.Validate();
        services.AddSingleton(provider => new DbrxKvEventPublisher(options, provider.GetService<System.Diagnostics.Metrics.IMeterFactory>()));
        services.AddSingleton<IHostedService, DbrxKvEventsService>();
        return services;
    }
}
