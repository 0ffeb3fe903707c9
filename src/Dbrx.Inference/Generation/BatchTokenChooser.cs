using static TorchSharp.torch;

namespace Dbrx.Inference.Generation;

/// <summary>Chooses the next token of every sequence in a batch from the batch's logits, each by its own options.</summary>
internal static class BatchTokenChooser
{
    /// <summary>
    /// Gives each sequence its next token from its row of <paramref name="logits"/> (<c>[B, vocab]</c>, on the model's
    /// device) and says which finished. Plain greedy rows take one device-side argmax and copy back a token id each;
    /// only the rows that sample or process their logits copy those logits to the host, where their samplers run.
    /// A request whose own choice fails (say, its output constraint allows no token) ends with that error alone.
    /// </summary>
    public static bool[] ChooseNext(Tensor logits, IReadOnlyList<GenerationSequence> sequences)
    {
        using var scope = NewDisposeScope();
        int[] argmaxRows = [.. Enumerable.Range(0, sequences.Count).Where(row => sequences[row].ChoosesByArgmax)];
        int[] sampledRows = [.. Enumerable.Range(0, sequences.Count).Where(row => !sequences[row].ChoosesByArgmax)];
        long[] argmax = argmaxRows.Length == 0 ? [] : logits.argmax(-1).cpu().data<long>().ToArray();
        Tensor? sampled = sampledRows.Length == 0 ? null
            : logits.index_select(0, tensor(sampledRows.Select(r => (long)r).ToArray(), ScalarType.Int64, logits.device)).to(ScalarType.Float32, CPU);
        var done = new bool[sequences.Count];
        bool Choose(int row, Func<bool> accept)
        {
            try
            {
                return accept();
            }
            catch (Exception e) when (e is InvalidOperationException or ArgumentException)
            {
                sequences[row].Fail(e);
                return true;
            }
        }
        foreach (int row in argmaxRows)
            done[row] = Choose(row, () => sequences[row].AcceptArgmax((int)argmax[row]));
        for (int i = 0; i < sampledRows.Length; i++)
        {
            int row = sampledRows[i];
            Tensor rowLogits = sampled![i];
            done[row] = Choose(row, () => sequences[row].Accept(rowLogits));
        }
        return done;
    }
}
