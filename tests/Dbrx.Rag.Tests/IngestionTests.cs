using System.Text;
using Dbrx.Inference.Tokenization;
using Dbrx.Rag.Indexing;
using Dbrx.Rag.Ingestion;
using Dbrx.Rag.Retrieval;
using Dbrx.Rag.Tests.Support;

namespace Dbrx.Rag.Tests;

public sealed class IngestionTests : IDisposable
{
    private readonly TempFolder temp = new();
    private readonly RagIndex index;
    private readonly Ingestor ingestor;
    private readonly string docs;

    public IngestionTests()
    {
        index = RagIndex.Open(temp.File("index.db"));
        ingestor = new Ingestor(index, new Chunker(DbrxTokenizer.Default));
        docs = temp.Folder("docs");
    }

    public void Dispose()
    {
        index.Dispose();
        temp.Dispose();
    }

    private Task<IngestReport> Ingest() => ingestor.IngestAsync(docs, cancellationToken: TestContext.Current.CancellationToken);

    private void Write(string name, string text) => File.WriteAllText(Path.Combine(docs, name), text);

    private IReadOnlyList<Passage> Find(string words) => Bm25Query.For(words) is { } match ? index.Search(match, 10) : [];

    [Fact]
    public async Task Unchanged_files_write_nothing_a_changed_file_replaces_its_chunks_and_a_deleted_one_is_removed()
    {
        Write("a.md", "# A\n\nThe aardvark digs burrows at night.\n");
        Write("b.md", "# B\n\nThe badger guards its sett.\n");
        Write("c.txt", "The capybara swims in rivers.\n");
        Assert.Equal(new IngestReport(3, 0, 0, 0, [], 3), await Ingest() with { Skipped = [] });

        var before = index.DocumentChunks("a.md").Concat(index.DocumentChunks("b.md")).Concat(index.DocumentChunks("c.txt")).ToList();
        long walBefore = new FileInfo(index.Path + "-wal").Length;
        DateTime modified = File.GetLastWriteTimeUtc(index.Path);
        var again = await Ingest();
        Assert.Equal(new IngestReport(0, 0, 3, 0, [], 0), again with { Skipped = [] });
        Assert.Equal(walBefore, new FileInfo(index.Path + "-wal").Length);   // not one page written
        Assert.Equal(modified, File.GetLastWriteTimeUtc(index.Path));
        Assert.Equal(before, index.DocumentChunks("a.md").Concat(index.DocumentChunks("b.md")).Concat(index.DocumentChunks("c.txt")));

        Write("b.md", "# B\n\nThe bison roams the prairie.\n");
        File.Delete(Path.Combine(docs, "c.txt"));
        var changed = await Ingest();
        Assert.Equal(new IngestReport(0, 1, 1, 1, [], 1), changed with { Skipped = [] });
        Assert.Empty(Find("badger sett"));
        Assert.Equal("b.md", Assert.Single(Find("bison prairie")).Source);
        Assert.Empty(Find("capybara"));
        Assert.Empty(index.DocumentChunks("c.txt"));
        Assert.DoesNotContain(index.DocumentChunks("b.md"), p => before.Any(b => b.ChunkId == p.ChunkId));
        Assert.Equal(before.Where(p => p.Source == "a.md"), index.DocumentChunks("a.md"));
        Assert.Equal(new IndexStatistics(2, 2, 0), index.Statistics());
        Assert.Empty(index.CheckConsistency());
    }

    [Fact]
    public async Task Locations_keep_the_heading_path_the_page_and_the_line()
    {
        Write("guide.md", "Intro before any heading.\n\n# Guide\n\n## Install\n\nRun the installer.\n\n### Linux\n\nUse the tarball.\n\n## Use\n\nStart it.\n");
        PdfFiles.Write(Path.Combine(docs, "manual.pdf"), ["First page about pumps.", "Second page about valves.", "Third page about gauges."]);
        // Plain text: paragraphs of one line each, long enough that chunks start in the middle of the file.
        Write("notes.txt", string.Join("\n\n", Enumerable.Range(1, 12).Select(p => string.Join(' ', Enumerable.Range(1, 6).Select(s => $"Paragraph {p} sentence {s} is about kettles and teapots.")))) + "\n");
        await Ingest();

        Assert.Equal(
            [("line 1", "Intro before any heading."), ("Guide > Install", "Run the installer."), ("Guide > Install > Linux", "Use the tarball."), ("Guide > Use", "Start it.")],
            index.DocumentChunks("guide.md").Select(p => (p.Location, p.Text)));
        Assert.Equal(
            [("page 1", "First page about pumps."), ("page 2", "Second page about valves."), ("page 3", "Third page about gauges.")],
            index.DocumentChunks("manual.pdf").Select(p => (p.Location, p.Text)));
        // A plain-text chunk is located by the line of the file where its first sentence is.
        string[] lines = File.ReadAllLines(Path.Combine(docs, "notes.txt"));
        var notes = index.DocumentChunks("notes.txt");
        Assert.True(notes.Count > 2);
        Assert.All(notes, chunk => Assert.Contains(chunk.Text.Split([". ", ".\n"], StringSplitOptions.None)[0], lines[int.Parse(chunk.Location["line ".Length..]) - 1], StringComparison.Ordinal));
        Assert.Equal("page 2", Assert.Single(Find("valves")).Location);
    }

    [Fact]
    public async Task A_corrupt_pdf_and_a_file_that_is_not_text_are_reported_by_name_and_the_rest_goes_in()
    {
        Write("good.md", "# Good\n\nThe heron fishes in the shallows.\n");
        PdfFiles.Write(Path.Combine(docs, "broken.pdf"), ["This page is fine."]);
        byte[] pdf = File.ReadAllBytes(Path.Combine(docs, "broken.pdf"));
        File.WriteAllBytes(Path.Combine(docs, "broken.pdf"), pdf[..(pdf.Length / 3)]);   // truncated: no cross-reference table, no trailer
        File.WriteAllBytes(Path.Combine(docs, "binary.txt"), [0x48, 0x69, 0xFF, 0xFE, 0x00, 0xC3]);
        Write("ignored.csv", "a,b\n");

        var report = await Ingest();

        Assert.Equal(1, report.Added);
        Assert.Equal(["binary.txt", "broken.pdf"], report.Skipped.Select(s => s.Source));
        Assert.Contains("PDF", report.Skipped[1].Reason, StringComparison.Ordinal);
        Assert.Contains("UTF-8", report.Skipped[0].Reason, StringComparison.Ordinal);
        Assert.Equal("good.md", Assert.Single(Find("heron")).Source);
        Assert.Equal(new IndexStatistics(1, 1, 0), index.Statistics());
    }

    [Fact]
    public async Task A_folder_that_does_not_exist_is_named_in_the_error()
    {
        var error = await Assert.ThrowsAsync<DirectoryNotFoundException>(() => ingestor.IngestAsync(Path.Combine(docs, "nope"), cancellationToken: TestContext.Current.CancellationToken));
        Assert.Contains("nope", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_file_that_is_not_an_index_is_refused_by_name()
    {
        string path = temp.File("not-an-index.db");
        File.WriteAllText(path, "this is not SQLite at all, just some text that is long enough to have a header..........");
        var error = Assert.Throws<InvalidDataException>(() => RagIndex.Open(path));
        Assert.Contains("not-an-index.db", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Queries_with_search_syntax_are_plain_words()
    {
        Write("x.md", "x");
        Assert.Equal("\"near\" OR \"dbrx\" OR \"int4\" OR \"col\"", Bm25Query.For("NEAR(\"dbrx\" AND int4*) OR col: -the"));
        Assert.Null(Bm25Query.For("the and of ?!"));
        Assert.Empty(index.Search(Bm25Query.For("NEAR(\"dbrx\" int4*) col:")!, 5));
    }

    [Fact]
    public async Task Searches_run_while_an_ingest_writes()
    {
        for (int i = 0; i < 30; i++)
            Write($"doc{i:D2}.md", $"# Doc {i}\n\n{new StringBuilder().Insert(0, $"The walrus number {i} basks on the ice. ", 40)}\n");
        var ingest = Ingest();
        while (!ingest.IsCompleted)
            _ = Find("walrus ice");
        Assert.Equal(30, (await ingest).Added);
        Assert.Equal(10, Find("walrus ice").Count);
    }
}
