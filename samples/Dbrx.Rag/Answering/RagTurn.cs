using Dbrx.Rag.Retrieval;
using Microsoft.Extensions.AI;

namespace Dbrx.Rag.Answering;

/// <summary>One answered question.</summary>
/// <param name="Answer">The answer's text.</param>
/// <param name="Passages">The passages put in front of the model (after the context budget).</param>
/// <param name="Cited">The passages the answer cites with <c>[n]</c>, in order of first mention.</param>
/// <param name="Usage">Tokens over all the model calls of the turn; <c>CachedInputTokenCount</c> is what came from the cache.</param>
/// <param name="Structured">With a structured answer: the parsed answer, whose citations are among <paramref name="Passages"/>.</param>
public sealed record RagTurn(string Answer, IReadOnlyList<Passage> Passages, IReadOnlyList<Passage> Cited, UsageDetails? Usage, RagAnswer? Structured = null);
