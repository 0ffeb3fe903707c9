using System.Net;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Dbrx.Server;

/// <summary>Says at start-up when no API key is configured and the server listens beyond this machine's loopback.</summary>
internal sealed class OpenAccessWarning(IServer server, IHostApplicationLifetime lifetime, DbrxServerOptions options, ILogger<OpenAccessWarning> logger) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        if (options.ApiKeys.Count == 0)
            lifetime.ApplicationStarted.Register(Check);
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    private void Check()
    {
        var exposed = server.Features.Get<IServerAddressesFeature>()?.Addresses.Where(a => !IsLoopback(a)).ToList() ?? [];
        if (exposed.Count > 0)
            logger.LogWarning("No API key is configured and the server listens on {Addresses}, beyond loopback: anyone who can reach it can use the model. Set one with --api-key (DbrxServer:ApiKeys).", string.Join(", ", exposed));
    }

    /// <summary>Whether a listening address (<c>http://127.0.0.1:8000</c>, <c>http://[::]:80</c>, <c>http://+:80</c>) reaches this machine only.</summary>
    internal static bool IsLoopback(string address)
    {
        if (!Uri.TryCreate(address, UriKind.Absolute, out Uri? uri))
            return false;
        return uri.IsLoopback || (IPAddress.TryParse(uri.Host.Trim('[', ']'), out IPAddress? ip) && IPAddress.IsLoopback(ip));
    }
}
