using static TorchSharp.torch;

namespace Dbrx.Inference.Modeling;

/// <summary>A bias-free linear layer with int4 weights (<c>[out, in]</c> quantized by row), run by libtorch's int4 matmul.</summary>
internal sealed class Int4Linear(int groupSize, ScalarType dtype, Device device) : nn.Module<Tensor, Tensor>(nameof(Int4Linear)), IInt4Target
{
    // Not a registered buffer: its layout depends on the device's kernel and loading replaces it.
    private Int4PackedWeight? weight;

    public string CheckpointName(string modulePath) => modulePath + ".weight";

    public Int4Weights Quantize(Tensor weight) => Int4Weights.Quantize(weight, groupSize, device);

    public void LoadFloat(Tensor weight)
    {
        using var quantized = Quantize(weight);
        LoadQuantized(quantized);
    }

    public void LoadQuantized(Int4Weights weights)
    {
        weight?.Dispose();
        weight = new Int4PackedWeight(weights, groupSize, dtype, device);
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
            weight?.Dispose();
        base.Dispose(disposing);
    }

    public override Tensor forward(Tensor input)
    {
        Int4PackedWeight loaded = weight ?? throw new InvalidOperationException("An int4 layer was used before its weight was loaded.");
        using var rows = input.reshape(-1, input.shape[^1]);
        using var output = loaded.Matmul(rows);
        return output.view([.. input.shape[..^1], loaded.OutFeatures]);
    }
}
