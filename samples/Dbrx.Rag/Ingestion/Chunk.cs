namespace Dbrx.Rag.Ingestion;

/// <summary>A piece of a document small enough to put in a prompt, with where it came from.</summary>
/// <param name="Ordinal">Its position among the document's chunks, from 0.</param>
/// <param name="Location">The heading path, the page (<c>page 2</c>) or, for plain text, the line (<c>line 40</c>).</param>
/// <param name="Text">The text.</param>
/// <param name="Tokens">Its length in DBRX tokens.</param>
public sealed record Chunk(int Ordinal, string Location, string Text, int Tokens);
