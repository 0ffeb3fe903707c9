using System.Numerics.Tensors;
using Dbrx.Rag.Indexing;
using Microsoft.Extensions.AI;

namespace Dbrx.Rag.Retrieval;

/// <summary>
/// Finds the passages for a question: BM25 over the FTS5 index; when an embedding generator is given (the index then
/// holds chunk embeddings), also the chunks nearest the question's embedding, fused with BM25's by reciprocal rank.
/// </summary>
public sealed class RagRetriever
{
    private readonly RagIndex index;
    private readonly IEmbeddingGenerator<string, Embedding<float>>? embeddings;

    /// <summary>Creates a retriever over an index.</summary>
    /// <param name="index">The index.</param>
    /// <param name="options">Result counts.</param>
    /// <param name="embeddings">The generator the chunks were embedded with, or null for BM25 alone.</param>
    public RagRetriever(RagIndex index, RetrieverOptions? options = null, IEmbeddingGenerator<string, Embedding<float>>? embeddings = null)
    {
        ArgumentNullException.ThrowIfNull(index);
        this.index = index;
        Options = options ?? new RetrieverOptions();
        Options.Validate();
        this.embeddings = embeddings;
    }

    /// <summary>The options in effect.</summary>
    public RetrieverOptions Options { get; }

    /// <summary>The best passages for a query, best first; empty when no chunk shares a word with it.</summary>
    public async Task<IReadOnlyList<Passage>> SearchAsync(string query, int? top = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(query);
        int count = top ?? Options.Top;
        string? match = Bm25Query.For(query);
        if (embeddings is null)
            return match is null ? [] : index.Search(match, count);

        IReadOnlyList<Passage> lexical = match is null ? [] : index.Search(match, Options.FusionCandidates);
        Embedding<float> question = await embeddings.GenerateAsync(query, cancellationToken: cancellationToken);
        IReadOnlyList<long> nearest = Nearest(question.Vector, Options.FusionCandidates);
        var fused = ReciprocalRankFusion.Fuse([[.. lexical.Select(p => p.ChunkId)], nearest]).Take(count).ToList();
        var byId = index.Chunks([.. fused.Select(f => f.Id)]).ToDictionary(p => p.ChunkId);
        return [.. fused.Where(f => byId.ContainsKey(f.Id)).Select(f => byId[f.Id] with { Score = f.Score })];
    }

    /// <summary>
    /// The best passages for several queries at once (say the user's question and a model's rewording of it): each
    /// query's ranking, fused by reciprocal rank; the earlier query wins ties.
    /// </summary>
    public async Task<IReadOnlyList<Passage>> SearchAsync(IReadOnlyList<string> queries, int? top = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(queries);
        int count = top ?? Options.Top;
        var rankings = new List<IReadOnlyList<Passage>>();
        foreach (string query in queries)
            rankings.Add(await SearchAsync(query, count, cancellationToken));
        var byId = rankings.SelectMany(r => r).GroupBy(p => p.ChunkId).ToDictionary(g => g.Key, g => g.First());
        var fused = ReciprocalRankFusion.Fuse([.. rankings.Select(r => (IReadOnlyList<long>)[.. r.Select(p => p.ChunkId)])]);
        return [.. fused.Take(count).Select(f => byId[f.Id] with { Score = f.Score })];
    }

    /// <summary>The ids of the chunks most similar (cosine) to a vector, best first: a scan that keeps only the best.</summary>
    private List<long> Nearest(ReadOnlyMemory<float> vector, int count)
    {
        var best = new PriorityQueue<long, float>();
        foreach (var (id, embedding) in index.Embeddings())
        {
            if (embedding.Length != vector.Length)
                throw new InvalidOperationException($"Chunk {id} has an embedding of {embedding.Length} dimensions, the query {vector.Length}: the index was embedded with another generator. Ingest again.");
            best.Enqueue(id, TensorPrimitives.CosineSimilarity(embedding, vector.Span));
            if (best.Count > count)
                best.Dequeue();
        }
        var ids = new List<long>(best.Count);
        while (best.Count > 0)
            ids.Add(best.Dequeue());
        ids.Reverse();
        return ids;
    }
}
