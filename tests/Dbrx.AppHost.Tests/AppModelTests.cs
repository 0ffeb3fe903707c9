using Aspire.Hosting.ApplicationModel;
using Aspire.Hosting.Testing;

namespace Dbrx.AppHost.Tests;

/// <summary>The app model as built, without starting it: what resources it declares from its configuration.</summary>
public sealed class AppModelTests
{
    private static CancellationToken Cancellation => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Each_replica_is_a_resource_of_its_own_with_its_endpoints_and_readiness_check_behind_one_gateway()
    {
        // A folder with a config.json: no init resource.
        string model = Directory.CreateTempSubdirectory("dbrx-apphost-model").FullName;
        File.WriteAllText(Path.Combine(model, "config.json"), "{}");
        try
        {
            var builder = await DistributedApplicationTestingBuilder.CreateAsync<Projects.Dbrx_AppHost>([$"--Dbrx:ModelPath={model}", "--Dbrx:Replicas=3"], Cancellation);
            string[] names = [.. builder.Resources.OfType<ProjectResource>().Select(r => r.Name).Order()];
            Assert.Equal(["gateway", "replica0", "replica1", "replica2"], names);
            foreach (ProjectResource replica in builder.Resources.OfType<ProjectResource>().Where(r => r.Name != "gateway"))
            {
                Assert.Equal(["http", "kv-events"], replica.Annotations.OfType<EndpointAnnotation>().Select(e => e.Name).Order());
                Assert.Contains(replica.Annotations.OfType<HealthCheckAnnotation>(), _ => true);
            }
        }
        finally
        {
            Directory.Delete(model, recursive: true);
        }
    }

    [Fact]
    public async Task A_replica_count_out_of_range_is_refused_naming_the_setting()
    {
        var error = await Assert.ThrowsAnyAsync<Exception>(() => DistributedApplicationTestingBuilder.CreateAsync<Projects.Dbrx_AppHost>(["--Dbrx:Replicas=0"], Cancellation));
        Assert.Contains("Dbrx:Replicas", error.ToString(), StringComparison.Ordinal);
    }
}
