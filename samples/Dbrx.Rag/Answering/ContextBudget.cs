using Dbrx.Rag.Retrieval;

namespace Dbrx.Rag.Answering;

/// <summary>
/// Keeps retrieved passages to what fits the context: passages are taken best first while the whole prompt they end
/// up in, counted with the model's tokenizer, stays within the limit (the context length less the answer's tokens);
/// the first one that does not fit whole is cut at a word boundary to the room left, and the rest are dropped.
/// </summary>
public static class ContextBudget
{
    /// <summary>A cut passage shorter than this many words is left out instead.</summary>
    private const int MinimumWords = 8;

    /// <summary>The passages that fit, in their order.</summary>
    /// <param name="passages">Candidates, best first.</param>
    /// <param name="promptTokens">The prompt's length in tokens with a given set of passages in it.</param>
    /// <param name="limit">Most prompt tokens.</param>
    public static IReadOnlyList<Passage> Fit(IReadOnlyList<Passage> passages, Func<IReadOnlyList<Passage>, int> promptTokens, int limit)
    {
        ArgumentNullException.ThrowIfNull(passages);
        ArgumentNullException.ThrowIfNull(promptTokens);
        var kept = new List<Passage>();
        foreach (Passage passage in passages)
        {
            if (promptTokens([.. kept, passage]) <= limit)
            {
                kept.Add(passage);
                continue;
            }
            // The longest word prefix that fits, found by bisection.
            string[] words = passage.Text.Split(' ');
            int fits = 0;
            for (int low = 1, high = words.Length - 1; low <= high;)
            {
                int middle = (low + high) / 2;
                if (promptTokens([.. kept, Cut(passage, words, middle)]) <= limit)
                    (fits, low) = (middle, middle + 1);
                else
                    high = middle - 1;
            }
            if (fits >= MinimumWords)
                kept.Add(Cut(passage, words, fits));
            break;
        }
        return kept;
    }

    private static Passage Cut(Passage passage, string[] words, int count) => passage with { Text = string.Join(' ', words, 0, count) + " …" };
}
