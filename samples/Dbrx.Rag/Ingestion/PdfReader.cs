using UglyToad.PdfPig;
using UglyToad.PdfPig.Content;
using UglyToad.PdfPig.DocumentLayoutAnalysis.TextExtractor;

namespace Dbrx.Rag.Ingestion;

/// <summary>PDF through PdfPig: each page's text in reading order, split into paragraphs, located by page.</summary>
public sealed class PdfReader : IDocumentReader
{
    /// <inheritdoc/>
    public IReadOnlyList<TextBlock> Read(byte[] content)
    {
        try
        {
            using PdfDocument document = PdfDocument.Open(content);
            var blocks = new List<TextBlock>();
            foreach (Page page in document.GetPages())
                blocks.AddRange(PlainTextReader.Paragraphs(ContentOrderTextExtractor.GetText(page), $"page {page.Number}", firstLine: 0));
            return blocks;
        }
        catch (Exception e) when (e is not OutOfMemoryException and not InvalidDataException)
        {
            // PdfPig reports damage with several exception types; to the ingestor they all mean "not a readable PDF".
            throw new InvalidDataException($"it is not a readable PDF ({e.Message.TrimEnd('.')}).", e);
        }
    }
}
