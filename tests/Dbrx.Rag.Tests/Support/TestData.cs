using System.Text.Json;
using System.Text.RegularExpressions;

namespace Dbrx.Rag.Tests.Support;

/// <summary>The labelled retrieval corpus written for these tests (TestData/retrieval).</summary>
public static partial class TestData
{
    public static string RetrievalFolder => Path.Combine(AppContext.BaseDirectory, "TestData", "retrieval");

    /// <summary>A query with the passage that answers it, named by its document and a phrase of its text.</summary>
    public sealed record LabelledQuery(string Query, string Source, string Contains);

    public static IReadOnlyList<LabelledQuery> Queries() =>
        JsonSerializer.Deserialize<List<LabelledQuery>>(File.ReadAllText(Path.Combine(RetrievalFolder, "queries.json")), new JsonSerializerOptions(JsonSerializerDefaults.Web))!;

    /// <summary>
    /// Copies the corpus into a folder: the Markdown and text files as they are, and the PDF written from its page
    /// texts (pages separated by a line <c>=== page</c>).
    /// </summary>
    public static string WriteCorpus(string folder)
    {
        foreach (string file in Directory.EnumerateFiles(RetrievalFolder).Where(f => f.EndsWith(".md", StringComparison.Ordinal) || f.EndsWith(".txt", StringComparison.Ordinal)))
            if (!file.EndsWith(".pages.txt", StringComparison.Ordinal))
                File.Copy(file, Path.Combine(folder, Path.GetFileName(file)));
        foreach (string pages in Directory.EnumerateFiles(RetrievalFolder, "*.pages.txt"))
            PdfFiles.Write(Path.Combine(folder, Path.GetFileName(pages).Replace(".pages.txt", ".pdf", StringComparison.Ordinal)), PdfPages(pages));
        return folder;
    }

    public static IReadOnlyList<string> PdfPages(string pagesFile) =>
        [.. File.ReadAllText(pagesFile).Split("=== page", StringSplitOptions.TrimEntries)];

    /// <summary>Text with every run of whitespace made one space, for comparing text across line wrapping.</summary>
    public static string Normalize(string text) => Whitespace().Replace(text, " ").Trim();

    [GeneratedRegex(@"\s+")]
    private static partial Regex Whitespace();
}
