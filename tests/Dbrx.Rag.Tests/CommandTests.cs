using System.Text.RegularExpressions;
using Dbrx.Rag.Indexing;
using Dbrx.Rag.Tests.Support;

namespace Dbrx.Rag.Tests;

/// <summary>The sample's commands run as a user runs them, as a separate process, on the tiny random DBRX.</summary>
public sealed partial class CommandTests
{
    [Fact]
    public async Task Ingest_reports_a_broken_file_by_name_and_ask_prints_citations_that_exist()
    {
        using var temp = new TempFolder();
        string docs = TestData.WriteCorpus(temp.Folder("docs"));
        File.WriteAllText(Path.Combine(docs, "broken.pdf"), "%PDF-1.7 this is not really a PDF");
        string db = temp.File("cli.db");

        var ingest = await RagProcess.Run("ingest", docs, "--index", db);
        Assert.Equal(2, ingest.ExitCode);
        Assert.StartsWith("skipped broken.pdf: ", ingest.Error, StringComparison.Ordinal);
        Assert.Contains("5 added, 0 updated, 0 unchanged, 0 removed, 1 skipped", ingest.Out, StringComparison.Ordinal);
        var again = await RagProcess.Run("ingest", docs, "--index", db);
        Assert.Contains("0 added, 0 updated, 5 unchanged, 0 removed, 1 skipped; 0 chunks written", again.Out, StringComparison.Ordinal);

        var ask = await RagProcess.Run("ask", "how do I put out a campfire", "--index", db, "--json", "--max-tokens", "48", "--device", "cpu");
        Assert.True(ask.ExitCode == 0, ask.Error);
        var cited = Citation().Matches(ask.Out[ask.Out.IndexOf("Citations:", StringComparison.Ordinal)..]);
        Assert.NotEmpty(cited);
        using var index = RagIndex.Open(db);
        foreach (Match citation in cited)
        {
            var chunk = Assert.Single(index.Chunks([long.Parse(citation.Groups[1].Value)]));
            Assert.Equal((chunk.Source, chunk.Location), (citation.Groups[2].Value, citation.Groups[3].Value));
        }
        Assert.Matches(@"prompt tokens \d+, \d+ of them from the cache", ask.Error);
    }

    [Fact]
    public async Task An_index_that_does_not_exist_is_one_line_naming_it()
    {
        using var temp = new TempFolder();
        var ask = await RagProcess.Run("ask", "anything", "--index", temp.File("missing.db"));
        Assert.Equal(1, ask.ExitCode);
        Assert.StartsWith("dbrx-rag: error: The index '", ask.Error, StringComparison.Ordinal);
        Assert.Contains("missing.db", ask.Error, StringComparison.Ordinal);
        Assert.Single(ask.Error.TrimEnd().Split('\n'));
    }

    [GeneratedRegex(@"^  \[(\d+)\] (.+?), (.+)$", RegexOptions.Multiline)]
    private static partial Regex Citation();
}
