using Dbrx.Rag.Bench;
using Dbrx.Rag.Indexing;
using Dbrx.Rag.Ingestion;
using Dbrx.Rag.Retrieval;
using Dbrx.Rag.Tests.Support;

namespace Dbrx.Rag.Tests;

/// <summary>
/// A 100,000-chunk index is built and queried with memory measured: SQLite's own heap (its high-water mark, which the
/// page cache bounds) and the managed bytes a query allocates, which must not grow with the index. Times are not
/// asserted here; <c>bench</c> reports them.
/// </summary>
[Collection(nameof(ScaleTests))]
[CollectionDefinition(nameof(ScaleTests), DisableParallelization = true)]
[Trait("Category", "Slow")]
public sealed class ScaleTests(ITestOutputHelper output)
{
    [Fact]
    public async Task A_100k_chunk_index_is_queried_in_bounded_memory()
    {
        using var temp = new TempFolder();
        using var index = RagIndex.Open(temp.File("scale.db"));
        var corpus = new SyntheticCorpus(seed: 13);
        // A chunk with words no synthetic chunk has, to check that the right one comes back from 100k.
        var planted = new Chunk(0, "planted", "The quokka and the axolotl share a thermos of rooibos.", 14);
        for (int document = 0; document < 10; document++)
            index.ReplaceDocument($"synthetic/{document}.md", "synthetic", document == 7 ? [planted, .. corpus.Chunks(9_999, 30)] : [.. corpus.Chunks(10_000, 30)]);
        Assert.Equal(100_000, index.Statistics().Chunks);

        var retriever = new RagRetriever(index);
        string[] queries = [.. Enumerable.Range(0, 50).Select(_ => corpus.Query())];
        foreach (string query in queries.Take(5))
            await retriever.SearchAsync(query, cancellationToken: TestContext.Current.CancellationToken);   // warm the page cache

        SQLitePCL.raw.sqlite3_memory_highwater(1);
        long sqliteBefore = SQLitePCL.raw.sqlite3_memory_used();
        long allocatedBefore = GC.GetAllocatedBytesForCurrentThread();
        int found = 0;
        foreach (string query in queries)
            found += index.Search(Bm25Query.For(query)!, 5).Count;   // synchronous: the allocations stay on this thread
        long allocatedPerQuery = (GC.GetAllocatedBytesForCurrentThread() - allocatedBefore) / queries.Length;
        long sqliteHighWater = SQLitePCL.raw.sqlite3_memory_highwater(0);

        var best = await retriever.SearchAsync("quokka axolotl rooibos", cancellationToken: TestContext.Current.CancellationToken);
        long fileBytes = new FileInfo(index.Path).Length + new FileInfo(index.Path + "-wal").Length;
        output.WriteLine($"100k chunks, {fileBytes / 1e6:F0} MB on disk; per query {allocatedPerQuery / 1024.0:F1} KiB managed; SQLite heap {sqliteBefore / 1e6:F1} MB before, high-water {sqliteHighWater / 1e6:F1} MB during 50 queries");

        Assert.Equal(250, found);
        Assert.Equal(planted.Text, best[0].Text);
        Assert.Equal("synthetic/7.md", best[0].Source);
        Assert.InRange(allocatedPerQuery, 1, 256 * 1024);              // results only, not the index
        Assert.InRange(sqliteHighWater, 1, 64L * 1024 * 1024);           // page caches and statements, not the 100k chunks
        Assert.True(fileBytes > 10_000_000, "the index really holds 100k chunks of text");
    }
}
