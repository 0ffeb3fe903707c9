namespace Dbrx.Rag.Ingestion;

/// <summary>The readers by file extension: Markdown, plain text and PDF.</summary>
public static class DocumentReaders
{
    private static readonly Dictionary<string, IDocumentReader> ByExtension = new(StringComparer.OrdinalIgnoreCase)
    {
        [".md"] = new MarkdownReader(),
        [".markdown"] = new MarkdownReader(),
        [".txt"] = new PlainTextReader(),
        [".pdf"] = new PdfReader(),
    };

    /// <summary>The extensions that are ingested; other files are left alone.</summary>
    public static IReadOnlyCollection<string> Extensions => ByExtension.Keys;

    /// <summary>The reader for a path, or null when its extension is not ingested.</summary>
    public static IDocumentReader? For(string path) => ByExtension.GetValueOrDefault(Path.GetExtension(path));
}
