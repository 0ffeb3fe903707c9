namespace Dbrx.Rag.Retrieval;

/// <summary>
/// Reciprocal rank fusion (Cormack, Clarke and Büttcher, 2009): an item's score is the sum over the rankings that hold
/// it of 1 / (k + rank), rank from 1. It needs no calibration between BM25 scores and cosine similarities.
/// </summary>
public static class ReciprocalRankFusion
{
    /// <summary>The constant of the original paper.</summary>
    public const int DefaultK = 60;

    /// <summary>Fuses rankings of ids (best first) into one, best first; ties keep the order of first appearance.</summary>
    public static IReadOnlyList<(long Id, double Score)> Fuse(IEnumerable<IReadOnlyList<long>> rankings, int k = DefaultK)
    {
        ArgumentNullException.ThrowIfNull(rankings);
        var scores = new Dictionary<long, double>();
        var order = new List<long>();
        foreach (var ranking in rankings)
            for (int rank = 0; rank < ranking.Count; rank++)
            {
                if (!scores.ContainsKey(ranking[rank]))
                    order.Add(ranking[rank]);
                scores[ranking[rank]] = scores.GetValueOrDefault(ranking[rank]) + 1.0 / (k + rank + 1);
            }
        return [.. order.Select(id => (id, scores[id])).OrderByDescending(x => x.Item2)];
    }
}
