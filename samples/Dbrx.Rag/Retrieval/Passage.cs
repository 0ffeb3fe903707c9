namespace Dbrx.Rag.Retrieval;

/// <summary>A retrieved chunk: what a prompt quotes and a citation points at.</summary>
/// <param name="ChunkId">The chunk's id in the index (what citations name).</param>
/// <param name="Source">The document, as a path relative to the ingested folder.</param>
/// <param name="Location">The heading path, page or line in the document.</param>
/// <param name="Text">The chunk's text.</param>
/// <param name="Score">Higher is better; BM25 (sign flipped) or a fused rank score.</param>
public sealed record Passage(long ChunkId, string Source, string Location, string Text, double Score);
