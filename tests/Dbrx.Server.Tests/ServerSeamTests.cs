namespace Dbrx.Server.Tests;

/// <summary>The server's seam: it serves through the adapter and Microsoft.Extensions.AI, never the engine's types.</summary>
public sealed class ServerSeamTests
{
    [Fact]
    public void The_server_assembly_references_the_adapter_and_not_the_engine()
    {
        string[] referenced = [.. typeof(DbrxServerOptions).Assembly.GetReferencedAssemblies().Select(a => a.Name!)];
        Assert.Contains("Dbrx.Extensions.AI", referenced);
        Assert.DoesNotContain("Dbrx.Inference", referenced);
    }
}
