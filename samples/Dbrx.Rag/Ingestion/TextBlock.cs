namespace Dbrx.Rag.Ingestion;

/// <summary>How a block may be cut when it is longer than a chunk.</summary>
public enum TextBlockKind
{
    /// <summary>Running text: cut between sentences.</summary>
    Prose,

    /// <summary>Code, tables, lists: cut between lines, never inside one.</summary>
    Lines,
}

/// <summary>
/// One structural unit of a document as its reader found it: a paragraph, a list, a code block, a table, a page's
/// paragraph. The chunker packs consecutive blocks of the same section into chunks.
/// </summary>
/// <param name="Text">The block's text (Markdown blocks keep their Markdown).</param>
/// <param name="Section">Where it is: the heading path (<c>Guide &gt; Install</c>) or the page (<c>page 3</c>); null for plain text, whose chunks are located by line.</param>
/// <param name="Line">The 1-based line where the block starts in its file (0 where lines mean nothing, as in a PDF).</param>
/// <param name="Kind">How the block may be cut.</param>
public sealed record TextBlock(string Text, string? Section, int Line, TextBlockKind Kind);
