using TorchSharp;
using static TorchSharp.torch;

namespace Dbrx.Inference.Quantization;

/// <summary>
/// An int4 weight <c>[N, K]</c> in the layout libtorch's int4 matmul reads on its device: the packed values (tinygemm
/// tiles on CUDA, the CPU kernel's byte pairs elsewhere) and the scales and zeros as <c>[K/group, N, 2]</c> in the
/// activation dtype. Built once at load time; the forward pass only multiplies.
/// </summary>
internal sealed class Int4PackedWeight : IDisposable
{
    private readonly Tensor packed;
    private readonly Tensor scalesAndZeros;
    private readonly int groupSize;

    /// <summary>Packs <paramref name="weights"/> for <paramref name="device"/>, with scales in <paramref name="dtype"/>.</summary>
    public Int4PackedWeight(Int4Weights weights, int groupSize, ScalarType dtype, Device device)
    {
        using var scope = NewDisposeScope();
        packed = (device.type == DeviceType.CUDA
            ? Runtime.AtenOps.PackInt4ForCuda(weights.Pairs.to(device))
            : Runtime.AtenOps.PackInt4ForCpu(weights.Values().cpu()).to(device)).DetachFromDisposeScope();
        scalesAndZeros = stack([weights.Scales, weights.Zeros], -1).transpose(0, 1).contiguous().to(dtype, device).DetachFromDisposeScope();
        this.groupSize = groupSize;
    }

    /// <summary>Output features N.</summary>
    public long OutFeatures => scalesAndZeros.shape[1];

    /// <summary><c>x</c> <c>[M, K]</c> times the weight's transpose: <c>[M, N]</c>.</summary>
    public Tensor Matmul(Tensor x)
    {
        // The CUDA kernel reads x as a plain row-major matrix.
        using var rows = x.contiguous();
        return Runtime.AtenOps.Int4Matmul(rows, packed, groupSize, scalesAndZeros);
    }

    /// <summary>Frees the device tensors.</summary>
    public void Dispose()
    {
        packed.Dispose();
        scalesAndZeros.Dispose();
    }
}
