using System.Text;

namespace Dbrx.Rag.Ingestion;

/// <summary>Plain text: paragraphs are separated by blank lines; chunks are located by the line they start on.</summary>
public sealed class PlainTextReader : IDocumentReader
{
    /// <inheritdoc/>
    public IReadOnlyList<TextBlock> Read(byte[] content) => Paragraphs(Utf8.Decode(content), section: null, firstLine: 1);

    /// <summary>Splits text into paragraphs at blank lines, each a prose block.</summary>
    internal static List<TextBlock> Paragraphs(string text, string? section, int firstLine)
    {
        var blocks = new List<TextBlock>();
        var paragraph = new StringBuilder();
        int start = 0;
        string[] lines = text.ReplaceLineEndings("\n").Split('\n');
        for (int i = 0; i <= lines.Length; i++)
        {
            string line = i < lines.Length ? lines[i].Trim() : "";
            if (line.Length == 0)
            {
                if (paragraph.Length > 0)
                    blocks.Add(new TextBlock(paragraph.ToString(), section, firstLine == 0 ? 0 : firstLine + start, TextBlockKind.Prose));
                paragraph.Clear();
                continue;
            }
            if (paragraph.Length == 0)
                start = i;
            else
                paragraph.Append(' ');
            paragraph.Append(line);
        }
        return blocks;
    }
}
