using System.Text.RegularExpressions;

namespace Dbrx.Rag.Retrieval;

/// <summary>
/// Turns free text into an FTS5 query: its words, lower-cased, without common English words, each quoted (so no
/// FTS5 syntax can come from the user) and joined with OR; BM25 then ranks chunks by how many of the rarer words they
/// hold. Stop words are dropped because a term that matches most chunks adds nothing to the ranking but makes a
/// query over a large index read most of it.
/// </summary>
public static partial class Bm25Query
{
    private static readonly HashSet<string> StopWords = new(StringComparer.Ordinal)
    {
        "a", "about", "above", "after", "again", "all", "also", "am", "an", "and", "any", "are", "as", "at", "be",
        "because", "been", "before", "being", "between", "both", "but", "by", "can", "could", "did", "do", "does",
        "doing", "down", "during", "each", "few", "for", "from", "further", "get", "had", "has", "have", "having", "he",
        "her", "here", "hers", "him", "his", "how", "i", "if", "in", "into", "is", "it", "its", "itself", "just", "me",
        "more", "most", "my", "no", "nor", "not", "now", "of", "off", "on", "once", "only", "or", "other", "our", "out",
        "over", "own", "same", "she", "should", "so", "some", "such", "than", "that", "the", "their", "them", "then",
        "there", "these", "they", "this", "those", "through", "to", "too", "under", "until", "up", "us", "very", "was",
        "we", "were", "what", "when", "where", "which", "while", "who", "whom", "why", "will", "with", "would", "you",
        "your", "yours",
    };

    /// <summary>The words of a text that count for search, in order, without repeats.</summary>
    public static IReadOnlyList<string> Terms(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        return [.. Word().Matches(text.ToLowerInvariant()).Select(m => m.Value).Where(w => !StopWords.Contains(w)).Distinct(StringComparer.Ordinal)];
    }

    /// <summary>The FTS5 MATCH expression for a text, or null when it has no word that counts.</summary>
    public static string? For(string text)
    {
        var terms = Terms(text);
        return terms.Count == 0 ? null : string.Join(" OR ", terms.Select(t => '"' + t + '"'));
    }

    // Letters and digits, as FTS5's unicode61 tokenizer splits them (so "dbrx-instruct" is two words, "int4" one).
    [GeneratedRegex(@"[\p{L}\p{N}]+")]
    private static partial Regex Word();
}
