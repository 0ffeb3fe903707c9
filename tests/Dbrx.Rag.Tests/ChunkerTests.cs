using Dbrx.Inference.Tokenization;
using Dbrx.Rag.Ingestion;

namespace Dbrx.Rag.Tests;

public sealed class ChunkerTests
{
    private static readonly DbrxTokenizer Tokenizer = DbrxTokenizer.Default;

    private static IReadOnlyList<Chunk> ChunkMarkdown(string markdown, ChunkerOptions options) =>
        new Chunker(Tokenizer, options).Split(new MarkdownReader().Read(System.Text.Encoding.UTF8.GetBytes(markdown)));

    /// <summary>A section of numbered sentences, each naming its section, so where every sentence went can be checked.</summary>
    private static string Section(string name, int sentences) =>
        string.Join(' ', Enumerable.Range(1, sentences).Select(i => $"Sentence {name}{i} belongs to section {name} and carries a few more words."));

    [Fact]
    public void Chunks_stay_within_the_token_budget_never_mix_sections_and_lose_no_sentence()
    {
        string markdown = $"# Guide\n\n## Alpha\n\n{Section("alpha", 30)}\n\n## Beta\n\n{Section("beta", 25)}\n\n### Gamma\n\n{Section("gamma", 3)}\n";
        var chunks = ChunkMarkdown(markdown, new ChunkerOptions { MaxTokens = 64, OverlapTokens = 20 });

        foreach (var chunk in chunks)
        {
            Assert.InRange(Tokenizer.Encode(chunk.Text).Length, 1, 64);
            Assert.Equal(Tokenizer.Encode(chunk.Text).Length, chunk.Tokens);
            string section = chunk.Location.Split(" > ")[^1].ToLowerInvariant();
            // Every sentence in a chunk belongs to the chunk's own section.
            Assert.All(chunk.Text.Split(". ", StringSplitOptions.RemoveEmptyEntries), s => Assert.Contains($"section {section}", s, StringComparison.Ordinal));
        }
        Assert.Equal(["Guide > Alpha", "Guide > Beta", "Guide > Beta > Gamma"], chunks.Select(c => c.Location).Distinct());
        foreach (var (name, count) in new[] { ("alpha", 30), ("beta", 25), ("gamma", 3) })
            for (int i = 1; i <= count; i++)
                Assert.Contains(chunks, c => c.Text.Contains($"Sentence {name}{i} belongs", StringComparison.Ordinal));
        Assert.Equal(Enumerable.Range(0, chunks.Count), chunks.Select(c => c.Ordinal));
    }

    [Fact]
    public void A_chunk_starts_with_the_last_sentence_of_the_one_before_within_a_section()
    {
        var chunks = ChunkMarkdown($"# Alpha\n\n{Section("alpha", 30)}\n", new ChunkerOptions { MaxTokens = 64, OverlapTokens = 20 });
        Assert.True(chunks.Count > 3);
        for (int i = 1; i < chunks.Count; i++)
        {
            string lastOfPrevious = chunks[i - 1].Text.Split(". ")[^1].TrimEnd('.');
            Assert.StartsWith(lastOfPrevious, chunks[i].Text, StringComparison.Ordinal);
        }
        var noOverlap = ChunkMarkdown($"# Alpha\n\n{Section("alpha", 30)}\n", new ChunkerOptions { MaxTokens = 64, OverlapTokens = 0 });
        Assert.Equal(30, noOverlap.Sum(c => c.Text.Split("Sentence ").Length - 1));
    }

    [Fact]
    public void A_sentence_longer_than_a_chunk_is_cut_between_words_and_nothing_is_lost()
    {
        string words = string.Join(' ', Enumerable.Range(0, 400).Select(i => $"word{i}"));
        var chunks = new Chunker(Tokenizer, new ChunkerOptions { MaxTokens = 50, OverlapTokens = 0 }).Split([new TextBlock(words, null, 7, TextBlockKind.Prose)]);
        Assert.True(chunks.Count > 5);
        Assert.All(chunks, c => Assert.InRange(Tokenizer.Encode(c.Text).Length, 1, 50));
        Assert.Equal(words, string.Join(' ', chunks.Select(c => c.Text)));
        Assert.All(chunks, c => Assert.Equal("line 7", c.Location));
    }

    [Fact]
    public void Code_blocks_are_cut_between_lines()
    {
        string code = string.Join('\n', Enumerable.Range(0, 60).Select(i => $"var value{i} = Compute({i});"));
        var chunks = ChunkMarkdown($"# Code\n\n```csharp\n{code}\n```\n", new ChunkerOptions { MaxTokens = 80, OverlapTokens = 0 });
        Assert.True(chunks.Count > 2);
        var lines = chunks.SelectMany(c => c.Text.Split('\n')).Where(l => l.StartsWith("var ", StringComparison.Ordinal)).ToList();
        Assert.Equal(code.Split('\n'), lines);
    }

    [Theory]
    [InlineData(8, 0, "MaxTokens")]
    [InlineData(64, 40, "OverlapTokens")]
    [InlineData(64, -1, "OverlapTokens")]
    public void Options_that_cannot_work_are_rejected_by_name(int max, int overlap, string name)
    {
        var error = Assert.Throws<ArgumentException>(() => new Chunker(Tokenizer, new ChunkerOptions { MaxTokens = max, OverlapTokens = overlap }));
        Assert.Contains(name, error.Message, StringComparison.Ordinal);
    }
}
