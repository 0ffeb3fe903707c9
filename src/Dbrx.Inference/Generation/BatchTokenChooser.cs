using Dbrx.Inference.Generation.Sampling;
using static TorchSharp.torch;

namespace Dbrx.Inference.Generation;

/// <summary>Chooses the next token of every sequence in a batch from the batch's logits, each by its own options.</summary>
internal static class BatchTokenChooser
{
    /// <summary>
    /// Gives each sequence its next token from its row of <paramref name="logits"/> (<c>[B, vocab]</c>, on the model's
    /// device) and says which finished. Plain greedy rows take one argmax; the others are sampled together on the
    /// device (<see cref="DeviceSampler"/>); the rows that asked for log-probabilities get them in one more pass. Only
    /// token ids (and log-probabilities) are copied to the host. A request whose own choice fails (say, its output
    /// constraint allows no token) ends with that error alone.
    /// </summary>
    public static bool[] ChooseNext(Tensor logits, IReadOnlyList<GenerationSequence> sequences)
    {
        using var scope = NewDisposeScope();
        int count = sequences.Count;
        var tokens = new long[count];
        var errors = new Exception?[count];
        int[] argmaxRows = [.. Enumerable.Range(0, count).Where(row => sequences[row].Sampler.IsPlainArgmax)];
        int[] sampledRows = [.. Enumerable.Range(0, count).Where(row => !sequences[row].Sampler.IsPlainArgmax)];
        if (argmaxRows.Length > 0)
        {
            long[] argmax = Rows(logits, argmaxRows).argmax(-1).cpu().data<long>().ToArray();
            for (int i = 0; i < argmaxRows.Length; i++)
                tokens[argmaxRows[i]] = argmax[i];
        }
        if (sampledRows.Length > 0)
        {
            var (sampled, failed) = DeviceSampler.Choose(Rows(logits, sampledRows),
                [.. sampledRows.Select(row => sequences[row].Sampler)], [.. sampledRows.Select(row => sequences[row].RemainingTokens)]);
            for (int i = 0; i < sampledRows.Length; i++)
                (tokens[sampledRows[i]], errors[sampledRows[i]]) = (sampled[i], failed[i]);
        }

        var logProbabilities = new TokenLogProbability?[count];
        int[] logRows = [.. Enumerable.Range(0, count).Where(row => errors[row] is null && sequences[row].Options.LogProbabilities)];
        if (logRows.Length > 0)
        {
            TokenLogProbability[] computed = LogProbabilities.Of(Rows(logits, logRows), [.. logRows.Select(row => tokens[row])],
                [.. logRows.Select(row => sequences[row].Options.TopLogProbabilities)]);
            for (int i = 0; i < logRows.Length; i++)
                logProbabilities[logRows[i]] = computed[i];
        }

        var done = new bool[count];
        for (int row = 0; row < count; row++)
        {
            try
            {
                if (errors[row] is { } error)
                    throw error;
                done[row] = sequences[row].Accept((int)tokens[row], logProbabilities[row]);
            }
            catch (Exception e) when (e is InvalidOperationException or ArgumentException)
            {
                sequences[row].Fail(e);
                done[row] = true;
            }
        }
        return done;
    }

    private static Tensor Rows(Tensor logits, int[] rows) =>
        rows.Length == logits.shape[0] ? logits : logits.index_select(0, tensor(rows.Select(r => (long)r).ToArray(), ScalarType.Int64, logits.device));
}
