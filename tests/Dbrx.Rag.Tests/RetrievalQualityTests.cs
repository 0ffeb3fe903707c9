using Dbrx.Rag.Retrieval;
using Dbrx.Rag.Tests.Support;

namespace Dbrx.Rag.Tests;

/// <summary>
/// Retrieval quality on a corpus written for these tests (Markdown, plain text and a PDF, on bicycles, bread,
/// houseplants, home networks and camping) with 41 queries, each labelled with the passage that answers it by its
/// document and a phrase of its text: the labels come from the corpus, not from what the code returns.
/// </summary>
public sealed class RetrievalQualityTests(RetrievalIndex corpus, ITestOutputHelper output) : IClassFixture<RetrievalIndex>
{
    [Fact]
    public void Every_label_names_text_that_is_in_its_document()
    {
        foreach (var label in TestData.Queries())
        {
            string file = Path.Combine(TestData.RetrievalFolder, label.Source.EndsWith(".pdf", StringComparison.Ordinal) ? label.Source.Replace(".pdf", ".pages.txt", StringComparison.Ordinal) : label.Source);
            Assert.Contains(TestData.Normalize(label.Contains), TestData.Normalize(File.ReadAllText(file)));
        }
    }

    [Fact]
    public async Task Recall_at_5_with_the_shipped_chunker_and_BM25_is_at_least_0_9()
    {
        var retriever = new RagRetriever(corpus.Index, new RetrieverOptions { Top = 5 });
        var queries = TestData.Queries();
        Assert.True(queries.Count >= 30);
        var misses = new List<string>();
        foreach (var label in queries)
        {
            var passages = await retriever.SearchAsync(label.Query, cancellationToken: TestContext.Current.CancellationToken);
            Assert.InRange(passages.Count, 1, 5);
            if (!passages.Any(p => p.Source == label.Source && TestData.Normalize(p.Text).Contains(TestData.Normalize(label.Contains), StringComparison.Ordinal)))
                misses.Add($"{label.Query} -> {string.Join(" | ", passages.Select(p => $"{p.Source} {p.Location}"))}");
        }
        double recall = (queries.Count - misses.Count) / (double)queries.Count;
        output.WriteLine($"recall@5 = {recall:F3} ({queries.Count - misses.Count}/{queries.Count}); chunks {corpus.Index.Statistics().Chunks}");
        foreach (string miss in misses)
            output.WriteLine("miss: " + miss);
        Assert.True(recall >= 0.9, $"recall@5 {recall:F3}; misses:\n{string.Join('\n', misses)}");
    }

    [Fact]
    public void The_corpus_went_in_whole()
    {
        Assert.Equal(5, corpus.Report.Added);
        Assert.Empty(corpus.Report.Skipped);
        Assert.Empty(corpus.Index.CheckConsistency());
    }
}
