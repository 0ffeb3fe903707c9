using Markdig;
using Markdig.Syntax;

namespace Dbrx.Rag.Ingestion;

/// <summary>
/// Markdown through Markdig (CommonMark with pipe tables): each top-level block (paragraph, list, code, table, quote)
/// keeps its Markdown and is located by the path of headings above it, such as <c>Guide &gt; Install &gt; Linux</c>.
/// </summary>
public sealed class MarkdownReader : IDocumentReader
{
    /// <summary>Separates the headings of a section path.</summary>
    public const string PathSeparator = " > ";

    private static readonly MarkdownPipeline Pipeline = new MarkdownPipelineBuilder().UsePipeTables().Build();

    /// <inheritdoc/>
    public IReadOnlyList<TextBlock> Read(byte[] content)
    {
        string markdown = Utf8.Decode(content);
        MarkdownDocument document = Markdown.Parse(markdown, Pipeline);
        var headings = new List<(int Level, string Title)>();
        var blocks = new List<TextBlock>();
        foreach (Block block in document)
        {
            if (block is HeadingBlock heading)
            {
                headings.RemoveAll(h => h.Level >= heading.Level);
                headings.Add((heading.Level, Title(markdown, heading)));
                continue;
            }
            if (block is LinkReferenceDefinitionGroup or ThematicBreakBlock || block.Span.Length <= 0)
                continue;
            string text = markdown.Substring(block.Span.Start, block.Span.Length).Trim();
            if (text.Length == 0)
                continue;
            string? section = headings.Count == 0 ? null : string.Join(PathSeparator, headings.Select(h => h.Title));
            var kind = block is ParagraphBlock or QuoteBlock ? TextBlockKind.Prose : TextBlockKind.Lines;
            blocks.Add(new TextBlock(text, section, block.Line + 1, kind));
        }
        return blocks;
    }

    /// <summary>The heading's text without its markers (ATX <c>#</c>s or a setext underline).</summary>
    private static string Title(string markdown, HeadingBlock heading)
    {
        string line = markdown.Substring(heading.Span.Start, heading.Span.Length).ReplaceLineEndings("\n").Split('\n')[0];
        return line.Trim().Trim('#').Trim();
    }
}
