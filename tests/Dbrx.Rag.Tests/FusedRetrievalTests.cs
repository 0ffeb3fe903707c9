using Dbrx.Inference.Tokenization;
using Dbrx.Rag.Indexing;
using Dbrx.Rag.Ingestion;
using Dbrx.Rag.Retrieval;
using Dbrx.Rag.Tests.Support;

namespace Dbrx.Rag.Tests;

/// <summary>With an embedding generator, chunks are stored with embeddings and search fuses BM25 with cosine similarity.</summary>
public sealed class FusedRetrievalTests
{
    [Fact]
    public async Task Chunks_get_embeddings_and_results_are_the_reciprocal_rank_fusion_of_bm25_and_cosine()
    {
        using var temp = new TempFolder();
        using var index = RagIndex.Open(temp.File("fused.db"));
        var embeddings = new TrigramEmbeddings();
        await new Ingestor(index, new Chunker(DbrxTokenizer.Default), embeddings).IngestAsync(TestData.WriteCorpus(temp.Folder("docs")), cancellationToken: TestContext.Current.CancellationToken);
        var statistics = index.Statistics();
        Assert.Equal(statistics.Chunks, statistics.WithEmbeddings);

        const string query = "how do I clean a dirty bike chain";
        var retriever = new RagRetriever(index, new RetrieverOptions { Top = 5, FusionCandidates = 10 }, embeddings);
        var fused = await retriever.SearchAsync(query, cancellationToken: TestContext.Current.CancellationToken);

        // The same fusion computed here from its two inputs: BM25's top 10, and the 10 chunks nearest by cosine,
        // scanned over every chunk's text (the test's own brute force, from the texts, not the stored vectors).
        var lexical = index.Search(Bm25Query.For(query)!, 10).Select(p => p.ChunkId).ToList();
        float[] q = TrigramEmbeddings.Embed(query);
        var all = index.DocumentHashes().Keys.SelectMany(index.DocumentChunks).ToList();
        var nearest = all.OrderByDescending(p => System.Numerics.Tensors.TensorPrimitives.CosineSimilarity(TrigramEmbeddings.Embed(p.Text), q)).Take(10).Select(p => p.ChunkId).ToList();
        var expected = new Dictionary<long, double>();
        foreach (var ranking in new[] { lexical, nearest })
            for (int rank = 0; rank < ranking.Count; rank++)
                expected[ranking[rank]] = expected.GetValueOrDefault(ranking[rank]) + 1.0 / (60 + rank + 1);

        Assert.Equal(statistics.Chunks, all.Count);
        Assert.Equal(5, fused.Count);
        Assert.All(fused, p => Assert.Equal(expected[p.ChunkId], p.Score, 12));
        Assert.Equal(expected.Values.OrderDescending().Take(5), fused.Select(p => p.Score), (a, b) => Math.Abs(a - b) < 1e-12);
        Assert.Contains(fused, p => p.Text.Contains("citrus", StringComparison.Ordinal));
    }
}
