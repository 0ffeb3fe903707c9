using Dbrx.Inference.Tokenization;
using Dbrx.Rag.Indexing;
using Dbrx.Rag.Ingestion;
using Dbrx.Rag.Tests.Support;
using Dbrx.Tests.Shared;

namespace Dbrx.Rag.Tests;

/// <summary>
/// Nothing of a user's documents is lost by a command that did not say it would drop them: the shipped corpus never
/// goes into the user's index, a mistyped or empty folder removes nothing, two ingests into one index do not mix,
/// and a document without whitespace is still cut into chunks within the token budget.
/// </summary>
public sealed class DataSafetyTests : IDisposable
{
    private readonly TempFolder temp = new();

    public void Dispose() => temp.Dispose();

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    /// <summary>The sample as a process whose default indexes live in this test's folder (XDG_DATA_HOME).</summary>
    private Task<DotnetProcess.Result> Rag(params string[] args) =>
        DotnetProcess.RunAsync("Dbrx.Rag.dll", input: null, args, new Dictionary<string, string> { ["XDG_DATA_HOME"] = temp.Folder("data") });

    private string DefaultIndex => Path.Combine(temp.Folder("data"), "dbrx", "rag", "index.db");

    /// <summary>The documents a folder holds, as the index names them.</summary>
    private static List<string> Sources(string folder) => [.. Directory.EnumerateFiles(folder).Select(Path.GetFileName).OfType<string>().Order(StringComparer.Ordinal)];

    [Fact]
    public async Task Ask_without_an_index_never_replaces_what_ingest_put_into_the_default_index()
    {
        string docs = TestData.WriteCorpus(temp.Folder("docs"));
        var ingest = await Rag("ingest", docs);
        Assert.True(ingest.ExitCode == 0, ingest.Error);
        Assert.Contains(DefaultIndex, ingest.Out, StringComparison.Ordinal);
        long documents;
        using (var index = RagIndex.Open(DefaultIndex))
            documents = index.Statistics().Documents;

        var ask = await Rag("ask", "how do I put out a campfire", "--max-tokens", "16", "--device", "cpu");
        Assert.True(ask.ExitCode == 0, ask.Error);
        Assert.DoesNotContain("shipped corpus", ask.Error, StringComparison.Ordinal);
        using (var index = RagIndex.Open(DefaultIndex))
        {
            Assert.Equal(documents, index.Statistics().Documents);
            Assert.Equal(Sources(docs), index.DocumentHashes().Keys.Order(StringComparer.Ordinal));
        }
    }

    [Fact]
    public async Task Before_any_ingest_ask_answers_from_the_shipped_corpus_in_an_index_of_its_own()
    {
        var ask = await Rag("ask", "int4", "--max-tokens", "16", "--device", "cpu");
        Assert.True(ask.ExitCode == 0, ask.Error);
        Assert.Contains("corpus.db", ask.Error, StringComparison.Ordinal);
        Assert.False(File.Exists(DefaultIndex));
    }

    [Fact]
    public async Task An_empty_or_mistyped_folder_removes_nothing_and_leaves_no_index_behind()
    {
        string docs = TestData.WriteCorpus(temp.Folder("docs"));
        string db = temp.File("mine.db");
        Assert.Equal(0, (await Rag("ingest", docs, "--index", db)).ExitCode);

        var empty = await Rag("ingest", temp.Folder("empty"), "--index", db);
        Assert.Equal(1, empty.ExitCode);
        Assert.Contains("--prune", empty.Error, StringComparison.Ordinal);
        Assert.Contains("Nothing was changed", empty.Error, StringComparison.Ordinal);
        using (var index = RagIndex.Open(db))
            Assert.Equal(Sources(docs).Count, index.Statistics().Documents);

        var mistyped = await Rag("ingest", Path.Combine(temp.Path, "dosc"), "--index", temp.File("new.db"));
        Assert.Equal(1, mistyped.ExitCode);
        Assert.Contains("does not exist", mistyped.Error, StringComparison.Ordinal);
        Assert.False(File.Exists(temp.File("new.db")));

        // Asked for: the documents go.
        var pruned = await Rag("ingest", temp.Folder("empty"), "--index", db, "--prune");
        Assert.Equal(0, pruned.ExitCode);
        Assert.Contains($"{Sources(docs).Count} removed", pruned.Out, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_few_deleted_files_are_removed_but_more_need_prune()
    {
        string docs = temp.Folder("docs");
        for (int i = 0; i < 10; i++)
            File.WriteAllText(Path.Combine(docs, $"note{i}.md"), $"# Note {i}\n\nThe {i}th note about otters.\n");
        using var index = RagIndex.Open(temp.File("notes.db"));
        var ingestor = new Ingestor(index, new Chunker(DbrxTokenizer.Default));
        await ingestor.IngestAsync(docs, cancellationToken: Ct);

        foreach (int i in new[] { 0, 1 })
            File.Delete(Path.Combine(docs, $"note{i}.md"));
        Assert.Equal(2, (await ingestor.IngestAsync(docs, cancellationToken: Ct)).Removed);

        foreach (int i in new[] { 2, 3, 4, 5 })
            File.Delete(Path.Combine(docs, $"note{i}.md"));
        var refused = await Assert.ThrowsAsync<InvalidOperationException>(() => ingestor.IngestAsync(docs, cancellationToken: Ct));
        Assert.Contains($"remove 4 of the 8 documents", refused.Message, StringComparison.Ordinal);
        Assert.Equal(8, index.Statistics().Documents);
        Assert.Equal(4, (await ingestor.IngestAsync(docs, prune: true, cancellationToken: Ct)).Removed);
    }

    /// <summary>
    /// Two ingests of different folders into one index at once: the second waits for the first (a lock on the index), so
    /// the index ends as one of the two sequential orders leaves it, never a mix of both folders.
    /// </summary>
    [Fact]
    public async Task Concurrent_ingests_into_one_index_run_one_after_the_other()
    {
        string first = temp.Folder("first"), second = temp.Folder("second");
        for (int i = 0; i < 30; i++)
        {
            File.WriteAllText(Path.Combine(first, $"a{i}.md"), $"# A{i}\n\n{string.Join(' ', Enumerable.Repeat($"alpha{i}", 400))}\n");
            File.WriteAllText(Path.Combine(second, $"b{i}.md"), $"# B{i}\n\n{string.Join(' ', Enumerable.Repeat($"beta{i}", 400))}\n");
        }
        string db = temp.File("shared.db");
        var both = await Task.WhenAll(Rag("ingest", first, "--index", db, "--prune"), Rag("ingest", second, "--index", db, "--prune"));
        Assert.All(both, run => Assert.True(run.ExitCode == 0, run.Error));
        // One after the other, whether the second had to wait (it says so) or started once the first was done: one run
        // found the index empty, the other replaced the first's 30 documents.
        int[] removed = [.. both.Select(run => int.Parse(System.Text.RegularExpressions.Regex.Match(run.Out, @"(\d+) removed").Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture)).Order()];
        Assert.Equal([0, 30], removed);
        using var index = RagIndex.Open(db);
        var sources = index.DocumentHashes().Keys.ToList();
        Assert.True(sources.All(s => s.StartsWith('a')) || sources.All(s => s.StartsWith('b')), string.Join(", ", sources));
        Assert.Equal(30, sources.Count);
    }

    /// <summary>A Markdown file with a 2 MB base64 image and a 2 MB single line: every chunk within the budget.</summary>
    [Fact]
    [Trait("Category", "Slow")]
    public void Text_without_whitespace_is_cut_within_the_token_budget()
    {
        var random = new Random(9);
        byte[] image = new byte[1_500_000];
        random.NextBytes(image);
        string markdown = $"# Photo\n\nHere it is: ![photo](data:image/png;base64,{Convert.ToBase64String(image)})\n\nAnd the end.\n";
        string line = string.Concat(Enumerable.Range(0, 200_000).Select(i => "€ab"[i % 3].ToString() + (char)('a' + i % 26)));
        var chunker = new Chunker(DbrxTokenizer.Default, new ChunkerOptions { MaxTokens = 128, OverlapTokens = 16 });
        foreach (string text in new[] { markdown, line })
        {
            var chunks = chunker.Split(new MarkdownReader().Read(System.Text.Encoding.UTF8.GetBytes(text)));
            Assert.True(chunks.Count > 100, $"{chunks.Count} chunks");
            Assert.All(chunks, chunk =>
            {
                Assert.InRange(chunk.Tokens, 1, 128);
                Assert.Equal(DbrxTokenizer.Default.Encode(chunk.Text).Length, chunk.Tokens);
            });
            // Nothing lost: the pieces put together hold every character of the long text.
            string all = string.Concat(chunks.Select(c => c.Text));
            Assert.Equal(text.Count(c => c == '€'), all.Count(c => c == '€'));
        }
    }
}
