using Dbrx.Inference.Configuration;
using static TorchSharp.torch;

namespace Dbrx.Inference.Modeling;

/// <summary>
/// One of an expert block's three fused tensors (<c>mlp.w1</c>, <c>mlp.v1</c> or <c>mlp.w2</c>) in int4: each expert's
/// weight quantized and packed on its own, in the linear orientation <c>[out, in]</c> (so w2, used untransposed in the
/// reference, is stored transposed).
/// </summary>
internal sealed class Int4ExpertWeights : nn.Module, IInt4Target
{
    private readonly int experts, groupSize;
    private readonly long hidden, width;
    private readonly bool transposed;
    private readonly ScalarType dtype;
    private readonly Device device;
    // Not registered buffers: their layout depends on the device's kernel and loading replaces them.
    private readonly Int4PackedWeight?[] weights;

    /// <param name="experts">Experts in the block.</param>
    /// <param name="hidden">ffn_hidden_size.</param>
    /// <param name="width">d_model.</param>
    /// <param name="transposed">True for w2 (<c>[I, d]</c> per expert in the checkpoint, applied as <c>z · w2</c>).</param>
    /// <param name="groupSize">Weights per scale.</param>
    /// <param name="dtype">Activation dtype (of the scales).</param>
    /// <param name="device">Where the weights live.</param>
    public Int4ExpertWeights(int experts, long hidden, long width, bool transposed, int groupSize, ScalarType dtype, Device device) : base(nameof(Int4ExpertWeights))
    {
        this.experts = experts;
        this.hidden = hidden;
        this.width = width;
        this.transposed = transposed;
        this.groupSize = groupSize;
        this.dtype = dtype;
        this.device = device;
        weights = new Int4PackedWeight?[experts];
    }

    public string CheckpointName(string modulePath) => modulePath;

    /// <summary><c>x</c> <c>[n, in]</c> through expert <paramref name="expert"/>: <c>[n, out]</c>.</summary>
    public Tensor Apply(int expert, Tensor x) =>
        (weights[expert] ?? throw new InvalidOperationException($"Int4 expert {expert} was used before its weights were loaded.")).Matmul(x);

    public Int4Weights Quantize(Tensor weight) => QuantizeStored(weight, experts, hidden, width, transposed, groupSize, device);

    /// <summary>
    /// Quantizes a stored expert tensor (<c>[E·I, d]</c>) expert by expert into the stored int4 form: rows
    /// <c>[E·I, d/2]</c> for w1 and v1, <c>[E·d, I/2]</c> for w2 (see <see cref="DbrxQuantization"/>), each expert on
    /// <paramref name="device"/> (on a GPU, DBRX's 127 billion expert weights need not go through the host's cores; the values are the same).
    /// </summary>
    public static Int4Weights QuantizeStored(Tensor weight, int experts, long hidden, long width, bool transposed, int groupSize, Device device)
    {
        using var scope = NewDisposeScope();
        var parts = Enumerable.Range(0, experts).Select(e => QuantizeExpert(weight, e, experts, hidden, width, transposed, groupSize, device)).ToList();
        return new Int4Weights(cat(parts.Select(p => p.Pairs).ToArray(), 0), cat(parts.Select(p => p.Scales).ToArray(), 0), cat(parts.Select(p => p.Zeros).ToArray(), 0)).MoveOutOf(scope);
    }

    /// <summary>Quantizes expert by expert, so only one expert's weight is ever held in float32.</summary>
    public void LoadFloat(Tensor weight)
    {
        for (int e = 0; e < experts; e++)
        {
            using var scope = NewDisposeScope();
            Store(e, QuantizeExpert(weight, e, experts, hidden, width, transposed, groupSize, device));
        }
    }

    /// <summary>
    /// One expert's slice of the stored tensor <c>[E·I, d]</c> in its linear orientation: <c>[I, d]</c> for w1 and v1,
    /// <c>[d, I]</c> for w2 (transposed, so every weight is quantized along its input dimension), quantized on
    /// <paramref name="device"/>.
    /// </summary>
    private static Int4Weights QuantizeExpert(Tensor weight, int expert, int experts, long hidden, long width, bool transposed, int groupSize, Device device)
    {
        var slice = weight.view(experts, hidden, width)[expert];
        return Int4Weights.Quantize(transposed ? slice.t() : slice, groupSize, device);
    }

    private void Store(int expert, Int4Weights quantized)
    {
        weights[expert]?.Dispose();
        weights[expert] = new Int4PackedWeight(quantized, groupSize, dtype, device);
    }

    public void LoadQuantized(Int4Weights stored)
    {
        long rows = stored.Pairs.shape[0] / experts;
        for (int e = 0; e < experts; e++)
        {
            using var slice = new Int4Weights(stored.Pairs.narrow(0, e * rows, rows), stored.Scales.narrow(0, e * rows, rows), stored.Zeros.narrow(0, e * rows, rows));
            Store(e, slice);
        }
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            foreach (Int4PackedWeight? weight in weights)
                weight?.Dispose();
        }
        base.Dispose(disposing);
    }
}
