namespace Dbrx.Rag.Answering;

/// <summary>A structured answer: the text and the passages it rests on.</summary>
/// <param name="Answer">The answer.</param>
/// <param name="Citations">The passages cited; always among those retrieved (the schema allows nothing else).</param>
public sealed record RagAnswer(string Answer, IReadOnlyList<Citation> Citations);

/// <summary>A cited passage.</summary>
/// <param name="Source">The document.</param>
/// <param name="Chunk">The chunk id, as shown to the model in <c>[n]</c>.</param>
public sealed record Citation(string Source, long Chunk);
