using System.Text;
using Dbrx.Rag.Retrieval;

namespace Dbrx.Rag.Answering;

/// <summary>How passages are shown to the model: each headed by its chunk id in brackets, its source and location.</summary>
public static class PassageFormatter
{
    /// <summary>The passages as prompt text; a short notice when there are none.</summary>
    public static string Format(IReadOnlyList<Passage> passages)
    {
        ArgumentNullException.ThrowIfNull(passages);
        if (passages.Count == 0)
            return "No passage matched the search.";
        var text = new StringBuilder();
        foreach (Passage passage in passages)
            text.Append('[').Append(passage.ChunkId).Append("] ").Append(passage.Source).Append(", ").Append(passage.Location).Append('\n')
                .Append(passage.Text).Append("\n\n");
        return text.ToString().TrimEnd();
    }

    /// <summary>One line naming a passage for a reader: <c>[12] README.md, Quick start</c>.</summary>
    public static string Reference(Passage passage) => $"[{passage.ChunkId}] {passage.Source}, {passage.Location}";
}
