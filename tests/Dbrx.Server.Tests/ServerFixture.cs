namespace Dbrx.Server.Tests;

/// <summary>One server shared by the client tests (they run one after another, in the "Server" collection).</summary>
public sealed class ServerFixture(TinyModel model) : IAsyncLifetime
{
    public DbrxTestServer Server { get; private set; } = null!;

    public async ValueTask InitializeAsync() => Server = await DbrxTestServer.StartAsync(model);

    public ValueTask DisposeAsync() => Server.DisposeAsync();
}

[CollectionDefinition("Server")]
public sealed class ServerCollection : ICollectionFixture<ServerFixture>;
