using UglyToad.PdfPig.Content;
using UglyToad.PdfPig.Core;
using UglyToad.PdfPig.Fonts.Standard14Fonts;
using UglyToad.PdfPig.Writer;

namespace Dbrx.Rag.Tests.Support;

/// <summary>Writes real PDF files with PdfPig's document builder: one page per text, lines wrapped by words.</summary>
public static class PdfFiles
{
    public static void Write(string path, IReadOnlyList<string> pages)
    {
        var builder = new PdfDocumentBuilder();
        var font = builder.AddStandard14Font(Standard14Font.Helvetica);
        foreach (string text in pages)
        {
            var page = builder.AddPage(PageSize.A4);
            double y = 790;
            foreach (string line in Wrap(text, 95))
            {
                page.AddText(line, 10, new PdfPoint(40, y), font);
                y -= 14;
            }
        }
        File.WriteAllBytes(path, builder.Build());
    }

    private static IEnumerable<string> Wrap(string text, int width)
    {
        foreach (string paragraph in text.ReplaceLineEndings("\n").Split('\n'))
        {
            string line = "";
            foreach (string word in paragraph.Split(' ', StringSplitOptions.RemoveEmptyEntries))
            {
                if (line.Length > 0 && line.Length + 1 + word.Length > width)
                {
                    yield return line;
                    line = "";
                }
                line = line.Length == 0 ? word : line + " " + word;
            }
            if (line.Length > 0)
                yield return line;
        }
    }
}
