using System.Text.RegularExpressions;
using Dbrx.Rag.Retrieval;

namespace Dbrx.Rag.Answering;

/// <summary>The <c>[n]</c> markers of a plain-text answer.</summary>
public static partial class Citations
{
    /// <summary>The passages an answer cites by <c>[n]</c>, in order of first mention; markers that name no given passage are ignored.</summary>
    public static IReadOnlyList<Passage> Cited(string answer, IReadOnlyList<Passage> passages)
    {
        ArgumentNullException.ThrowIfNull(answer);
        ArgumentNullException.ThrowIfNull(passages);
        var byId = passages.GroupBy(p => p.ChunkId).ToDictionary(g => g.Key, g => g.First());
        return [.. Marker().Matches(answer)
            .Select(m => long.TryParse(m.Groups[1].Value, out long id) ? id : -1)
            .Distinct()
            .Where(byId.ContainsKey)
            .Select(id => byId[id])];
    }

    [GeneratedRegex(@"\[(\d{1,18})\]")]
    private static partial Regex Marker();
}
