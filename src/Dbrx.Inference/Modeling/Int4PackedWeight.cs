using Dbrx.Inference.Runtime;
using TorchSharp;
using static TorchSharp.torch;

namespace Dbrx.Inference.Modeling;

/// <summary>
/// An int4 weight <c>[N, K]</c> in the layout libtorch's int4 matmul reads on its device: the packed values (tinygemm
/// tiles on CUDA, the CPU kernel's byte pairs elsewhere) and the scales and zeros as <c>[K/group, N, 2]</c> in the
/// activation dtype. Built once at load time; the forward pass only multiplies.
/// </summary>
/// <remarks>
/// tinygemm is built for few rows: it re-reads the weight for every 16 rows of x. From <see cref="ManyRows"/> rows
/// on (an expert's share of a long prefill), the weight is instead dequantized on the device into a temporary and
/// multiplied by the dense matmul, whose cost barely grows with the rows.
/// </remarks>
internal sealed class Int4PackedWeight : IDisposable
{
    /// <summary>Rows of x from which CUDA dequantizes and uses the dense matmul instead of tinygemm.</summary>
    internal const long ManyRows = 256;

    private readonly Tensor packed;
    private readonly Tensor scalesAndZeros;
    private readonly int groupSize;

    /// <summary>Packs <paramref name="weights"/> for <paramref name="device"/>, with scales in <paramref name="dtype"/>.</summary>
    public Int4PackedWeight(Int4Weights weights, int groupSize, ScalarType dtype, Device device)
        : this(Pack(weights, device), KernelScalesAndZeros(weights, dtype, device), groupSize)
    {
    }

    /// <summary>Takes ownership of tensors already in a kernel's layout.</summary>
    internal Int4PackedWeight(Tensor packed, Tensor scalesAndZeros, int groupSize)
    {
        this.packed = packed.DetachFromDisposeScope();
        this.scalesAndZeros = scalesAndZeros.DetachFromDisposeScope();
        this.groupSize = groupSize;
    }

    private static Tensor Pack(Int4Weights weights, Device device)
    {
        using var scope = NewDisposeScope();
        return scope.MoveToOuter(device.type == DeviceType.CUDA
            ? AtenOps.PackInt4ForCuda(weights.Pairs.to(device))
            : AtenOps.PackInt4ForCpu(weights.Values().cpu()).to(device));
    }

    /// <summary>Scales and zeros as the kernels read them: <c>[K/group, N, 2]</c>.</summary>
    internal static Tensor KernelScalesAndZeros(Int4Weights weights, ScalarType dtype, Device device)
    {
        using var scope = NewDisposeScope();
        return scope.MoveToOuter(stack([weights.Scales, weights.Zeros], -1).transpose(0, 1).contiguous().to(dtype, device));
    }

    /// <summary>Output features N.</summary>
    public long OutFeatures => scalesAndZeros.shape[1];

    /// <summary><c>x</c> <c>[M, K]</c> times the weight's transpose: <c>[M, N]</c>.</summary>
    public Tensor Matmul(Tensor x)
    {
        if (x.device_type == DeviceType.CUDA && x.shape[0] >= ManyRows)
        {
            using var weight = Dequantize(x.dtype);
            return nn.functional.linear(x, weight);
        }
        // The CUDA kernel reads x as a plain row-major matrix.
        using var rows = x.contiguous();
        return AtenOps.Int4Matmul(rows, packed, groupSize, scalesAndZeros);
    }

    /// <summary>The weight <c>(q − 8) · scale + zero</c>, <c>[N, K]</c> in <paramref name="dtype"/> (CUDA layout only).</summary>
    internal Tensor Dequantize(ScalarType dtype)
    {
        using var scope = NewDisposeScope();
        var q = TinygemmLayout.Unpack(packed).to_type(ScalarType.Float32);
        long n = q.shape[0], groups = scalesAndZeros.shape[0];
        var parts = scalesAndZeros.to_type(ScalarType.Float32).permute(1, 0, 2).unsqueeze(2);   // [N, groups, 1, 2]
        var weight = q.view(n, groups, -1).sub(Int4Scalars.Offset).mul(parts.select(-1, 0)).add(parts.select(-1, 1), RootedScalars.One).view(n, -1);
        return scope.MoveToOuter(weight.to_type(dtype));
    }

    /// <summary>Frees the device tensors.</summary>
    public void Dispose()
    {
        packed.Dispose();
        scalesAndZeros.Dispose();
    }
}
