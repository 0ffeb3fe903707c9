using System.Text.Json;

namespace Dbrx.Cli.Tests;

/// <summary>
/// <c>dbrx bench-json</c> on a fixed subset of MaskBench (<c>../shared/maskbench</c>, next to the repository, not in
/// it): real schemas whose valid instances must all be accepted token by token and invalid ones refused. Skipped
/// with the reason when the folder is not there.
/// </summary>
[Trait("Category", "Slow")]
public sealed class BenchJsonTests : IDisposable
{
    /// <summary>Every so many schema files, in name order, make the subset (about sixty schemas, all splits).</summary>
    private const int Stride = 6;

    private readonly string subset = Path.Combine(Path.GetTempPath(), "dbrx-maskbench-" + Guid.NewGuid().ToString("N"));

    private static string? MaskBench()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "Dbrx.Extensions.sln")))
            {
                string data = Path.Combine(directory.FullName, "..", "shared", "maskbench", "data");
                return Directory.Exists(data) ? Path.GetFullPath(data) : null;
            }
        }
        return null;
    }

    [Fact]
    public async Task A_maskbench_subset_passes_with_no_wrong_acceptance_or_refusal()
    {
        if (MaskBench() is not { } data)
        {
            Assert.Skip("../shared/maskbench (next to the repository) is not there: this test needs MaskBench's schema files.");
            return;
        }
        // Links to a fixed subset, so the data is read in place and never copied.
        Directory.CreateDirectory(subset);
        string[] files = [.. Directory.GetFiles(data, "*.json").Order(StringComparer.Ordinal).Where((_, i) => i % Stride == 0)];
        foreach (string file in files)
            File.CreateSymbolicLink(Path.Combine(subset, Path.GetFileName(file)), file);

        var result = await Cli.Run("bench-json", subset, "--json");
        Assert.True(result.ExitCode == 0, result.Error);
        using var report = JsonDocument.Parse(result.Out);
        JsonElement overall = report.RootElement.GetProperty("overall");
        Assert.Equal(files.Length, overall.GetProperty("schemas").GetInt32());
        Assert.Equal(0, overall.GetProperty("invalidation_errors").GetInt32());
        Assert.Equal(0, overall.GetProperty("validation_errors").GetInt32());
        // Schemas that fail are refused at compile time with a reason (the keyword and why), never half-enforced.
        Assert.True(overall.GetProperty("passing").GetInt32() >= files.Length * 0.95, result.Out);
        Assert.Equal(overall.GetProperty("schemas").GetInt32() - overall.GetProperty("passing").GetInt32(), overall.GetProperty("compile_errors").GetInt32());
        Assert.True(overall.GetProperty("masks").GetInt32() > 1000);
        Assert.True(report.RootElement.GetProperty("llguidance_published").GetProperty("passing").GetInt32() > 0);
    }

    public void Dispose()
    {
        if (Directory.Exists(subset))
            Directory.Delete(subset, recursive: true);
    }
}
