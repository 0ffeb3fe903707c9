using static TorchSharp.torch;

namespace Dbrx.Inference.Generation.Sampling;

/// <summary>The log-probabilities of the chosen tokens, and the top alternatives, for the rows that ask, computed on the logits' device.</summary>
internal static class LogProbabilities
{
    /// <summary>
    /// For each row of <paramref name="logits"/> (<c>[R, vocab]</c>): the log-softmax value of <paramref name="chosen"/>[r]
    /// and the <paramref name="top"/>[r] most likely tokens; one copy to the host for all rows.
    /// </summary>
    public static TokenLogProbability[] Of(Tensor logits, IReadOnlyList<long> chosen, IReadOnlyList<int> top)
    {
        using var scope = NewDisposeScope();
        using var mode = inference_mode();
        Tensor logProbabilities = logits.to_type(ScalarType.Float32).log_softmax(-1);
        Tensor ids = tensor(chosen.ToArray(), device: logits.device).unsqueeze(1);
        double[] chosenValues = [.. logProbabilities.gather(1, ids).squeeze(1).to_type(ScalarType.Float64).cpu().data<double>()];
        int k = top.Max();
        long[] topIds = [];
        double[] topValues = [];
        if (k > 0)
        {
            var (values, indices) = logProbabilities.topk(k);
            topIds = indices.cpu().data<long>().ToArray();
            topValues = values.to_type(ScalarType.Float64).cpu().data<double>().ToArray();
        }
        var result = new TokenLogProbability[chosen.Count];
        for (int row = 0; row < chosen.Count; row++)
        {
            TokenAlternative[] alternatives = [.. Enumerable.Range(0, top[row]).Select(i => new TokenAlternative((int)topIds[(row * k) + i], topValues[(row * k) + i]))];
            result[row] = new TokenLogProbability((int)chosen[row], chosenValues[row], alternatives);
        }
        return result;
    }
}
