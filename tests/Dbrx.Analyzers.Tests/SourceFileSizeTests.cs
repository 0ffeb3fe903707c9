namespace Dbrx.Analyzers.Tests;

/// <summary>The libraries stay readable a file at a time: no source file under <c>src/</c> over 450 lines (CONTRIBUTING).</summary>
public sealed class SourceFileSizeTests
{
    private const int MaxLines = 450;

    [Fact]
    public void No_source_file_of_the_libraries_is_over_450_lines()
    {
        string root = AppContext.BaseDirectory;
        while (!File.Exists(Path.Combine(root, "Dbrx.Extensions.sln")))
            root = Path.GetDirectoryName(root) ?? throw new InvalidOperationException("The repository root (Dbrx.Extensions.sln) is not above the test's output.");
        string src = Path.Combine(root, "src");
        string[] tooLong = [.. Directory.EnumerateFiles(src, "*.cs", SearchOption.AllDirectories)
            .Where(f => !f.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}", StringComparison.Ordinal) && !f.Contains($"{Path.DirectorySeparatorChar}bin{Path.DirectorySeparatorChar}", StringComparison.Ordinal))
            .Select(f => (File: Path.GetRelativePath(root, f), Lines: File.ReadLines(f).Count()))
            .Where(f => f.Lines > MaxLines)
            .Select(f => $"{f.File}: {f.Lines} lines")];
        Assert.True(tooLong.Length == 0, "Over " + MaxLines + " lines (split by concept): " + string.Join(", ", tooLong));
    }
}
