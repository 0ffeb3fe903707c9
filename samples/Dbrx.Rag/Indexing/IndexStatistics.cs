namespace Dbrx.Rag.Indexing;

/// <summary>What an index holds.</summary>
/// <param name="Documents">Documents.</param>
/// <param name="Chunks">Chunks.</param>
/// <param name="WithEmbeddings">Chunks that have an embedding.</param>
public sealed record IndexStatistics(long Documents, long Chunks, long WithEmbeddings);
