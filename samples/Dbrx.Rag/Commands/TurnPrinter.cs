using System.Text.Json;
using Dbrx.Rag.Answering;

namespace Dbrx.Rag.Commands;

/// <summary>Prints what follows an answer: its citations with source and location, and the token counts.</summary>
internal static class TurnPrinter
{
    // For reading on a terminal: indented, and non-ASCII text as itself rather than \u escapes.
    private static readonly JsonSerializerOptions Display = new(CitationSchema.Json) { WriteIndented = true, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public static void Print(RagTurn turn)
    {
        if (turn.Structured is { } structured)
        {
            Console.WriteLine(JsonSerializer.Serialize(structured, Display));
            Console.WriteLine();
        }
        else
        {
            Console.WriteLine();
            Console.WriteLine();
        }
        if (turn.Cited.Count > 0)
        {
            Console.WriteLine("Citations:");
            foreach (var passage in turn.Cited)
                Console.WriteLine("  " + PassageFormatter.Reference(passage));
        }
        else if (turn.Passages.Count > 0)
        {
            Console.WriteLine("Citations: none in the answer. Passages it was given:");
            foreach (var passage in turn.Passages)
                Console.WriteLine("  " + PassageFormatter.Reference(passage));
        }
        else
        {
            Console.WriteLine("Citations: none (no passage matched).");
        }
        if (turn.Usage is { } usage)
            Console.Error.WriteLine($"(prompt tokens {usage.InputTokenCount}, {usage.CachedInputTokenCount ?? 0} of them from the cache; answer tokens {usage.OutputTokenCount})");
    }
}
