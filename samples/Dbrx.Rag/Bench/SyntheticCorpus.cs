using System.Text;
using Dbrx.Inference.Tokenization;
using Dbrx.Rag.Ingestion;

namespace Dbrx.Rag.Bench;

/// <summary>
/// Reproducible made-up text for scale tests and benchmarks: pronounceable pseudo-words drawn with Zipf frequencies
/// (a few very common, most rare), as in natural language, so BM25 sees a realistic spread of term frequencies.
/// </summary>
public sealed class SyntheticCorpus
{
    private static readonly string[] Syllables = [.. "b d f g k l m n p r s t v z".Split(' ').SelectMany(c => "a e i o u".Split(' ').Select(v => c + v))];

    private readonly Random random;
    private readonly string[] words;
    private readonly double[] cumulative;

    /// <summary>Creates a generator.</summary>
    /// <param name="seed">The same seed gives the same text.</param>
    /// <param name="vocabulary">Distinct words.</param>
    public SyntheticCorpus(int seed = 1, int vocabulary = 20_000)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(vocabulary, 10);
        random = new Random(seed);
        words = [.. Enumerable.Range(0, vocabulary).Select(Word)];
        cumulative = new double[vocabulary];
        double sum = 0;
        for (int rank = 0; rank < vocabulary; rank++)
            cumulative[rank] = sum += 1.0 / (rank + 1);
    }

    /// <summary>A sentence of this many words.</summary>
    public string Sentence(int count)
    {
        var text = new StringBuilder();
        for (int i = 0; i < count; i++)
            text.Append(i == 0 ? "" : " ").Append(Next());
        return text.Append('.').ToString();
    }

    /// <summary>A query of a few words from the middle of the frequency range, where real content words are.</summary>
    public string Query(int count = 3) => string.Join(' ', Enumerable.Range(0, count).Select(_ => words[random.Next(50, Math.Min(words.Length, 5_000))]));

    /// <summary>Chunks of about <paramref name="wordsPerChunk"/> words, token counts from the DBRX tokenizer.</summary>
    public IEnumerable<Chunk> Chunks(int count, int wordsPerChunk)
    {
        for (int i = 0; i < count; i++)
        {
            string text = Sentence(wordsPerChunk);
            yield return new Chunk(i, $"section {i / 10 + 1}", text, DbrxTokenizer.Default.Encode(text).Length);
        }
    }

    /// <summary>A Markdown document: a title, then sections of paragraphs.</summary>
    public string MarkdownDocument(string title, int sections, int paragraphsPerSection, int wordsPerParagraph)
    {
        var text = new StringBuilder($"# {title}\n\n");
        for (int s = 1; s <= sections; s++)
        {
            text.Append($"## Section {s}\n\n");
            for (int p = 0; p < paragraphsPerSection; p++)
            {
                for (int written = 0; written < wordsPerParagraph; written += 12)
                    text.Append(Sentence(12)).Append(' ');
                text.Append("\n\n");
            }
        }
        return text.ToString();
    }

    private string Next()
    {
        int rank = Array.BinarySearch(cumulative, random.NextDouble() * cumulative[^1]);
        return words[rank < 0 ? ~rank : rank];
    }

    private static string Word(int index)
    {
        var word = new StringBuilder();
        do
        {
            word.Append(Syllables[index % Syllables.Length]);
            index /= Syllables.Length;
        }
        while (index > 0);
        return word.ToString();
    }
}
