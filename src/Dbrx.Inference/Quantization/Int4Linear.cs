using TorchSharp;
using static TorchSharp.torch;

namespace Dbrx.Inference.Quantization;

/// <summary>A bias-free linear layer with int4 weights (<c>[out, in]</c> quantized by row), run by libtorch's int4 matmul.</summary>
internal sealed class Int4Linear : nn.Module<Tensor, Tensor>, IInt4Target
{
    private readonly int groupSize;
    private readonly ScalarType dtype;
    private readonly Device device;
    private Tensor packed;
    private Tensor scalesAndZeros;

    public Int4Linear(long inFeatures, long outFeatures, int groupSize, ScalarType dtype, Device device) : base(nameof(Int4Linear))
    {
        this.groupSize = groupSize;
        this.dtype = dtype;
        this.device = device;
        // Placeholders until the loader fills them (their real layout depends on the device's kernel). They are owned
        // here rather than registered as buffers, since loading replaces them, and freed in Dispose.
        packed = empty([0], ScalarType.Byte, device).DetachFromDisposeScope();
        scalesAndZeros = empty([inFeatures / groupSize, outFeatures, 2], dtype, device).DetachFromDisposeScope();
    }

    public string CheckpointName(string modulePath) => modulePath + ".weight";

    public Int4Weights Quantize(Tensor weight) => Int4Weights.Quantize(weight, groupSize);

    public void LoadFloat(Tensor weight)
    {
        using var quantized = Quantize(weight);
        LoadQuantized(quantized);
    }

    public void LoadQuantized(Int4Weights weights)
    {
        packed.Dispose();
        scalesAndZeros.Dispose();
        packed = weights.Pack(device).DetachFromDisposeScope();
        scalesAndZeros = weights.ScalesAndZeros(dtype, device).DetachFromDisposeScope();
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            packed.Dispose();
            scalesAndZeros.Dispose();
        }
        base.Dispose(disposing);
    }

    public override Tensor forward(Tensor input)
    {
        using var rows = input.reshape(-1, input.shape[^1]);
        using var output = Runtime.AtenOps.Int4Matmul(rows, packed, groupSize, scalesAndZeros);
        return output.view([.. input.shape[..^1], scalesAndZeros.shape[1]]);
    }
}
