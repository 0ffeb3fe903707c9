using Dbrx.Inference.Runtime;
using static TorchSharp.torch;

namespace Dbrx.Inference.Modeling;

/// <summary>A weight <c>[N, K]</c> quantized to int4: two values per byte and a scale and zero per group of each row.</summary>
/// <param name="Pairs">U8 <c>[N, K/2]</c>, the even column in the high nibble.</param>
/// <param name="Scales">Float <c>[N, K/group]</c>.</param>
/// <param name="Zeros">Float <c>[N, K/group]</c>: the value of q = 8.</param>
internal sealed record Int4Weights(Tensor Pairs, Tensor Scales, Tensor Zeros) : IDisposable
{
    /// <summary>
    /// Round-to-nearest groupwise quantization of <paramref name="weight"/> (<c>[N, K]</c>): per group,
    /// <c>scale = (max − min) / 15</c> and <c>zero = min + 8 · scale</c>, both rounded to bfloat16 (how they are stored,
    /// so quantizing on load and loading a saved quantization give the same model), then
    /// <c>q = round((w − zero) / scale) + 8</c> clamped to 0..15. The error of each weight is half a step plus the
    /// bfloat16 rounding of its group's scale. The arithmetic runs on <paramref name="device"/> (default: the
    /// weight's own), where the result stays: quantizing where the weight will live lets a GPU do it rather than the
    /// host, with the same values.
    /// </summary>
    public static Int4Weights Quantize(Tensor weight, int groupSize, Device? device = null)
    {
        long rows = weight.shape[0], columns = weight.shape[1];
        if (columns % groupSize != 0 || columns % 2 != 0)
            throw new ArgumentException($"A row of {columns} values does not split into groups of {groupSize}.");
        using var scope = NewDisposeScope();
        // Moved before widening, so only the stored dtype's bytes cross to the device.
        var groups = weight.to(device ?? weight.device).to_type(ScalarType.Float32).reshape(rows, columns / groupSize, groupSize);
        var max = groups.amax([-1], keepdim: true);
        var min = groups.amin([-1], keepdim: true);
        var scales = (max - min).clamp_min(Int4Scalars.SmallestRange).div(Int4Scalars.Largest).to_type(ScalarType.BFloat16).to_type(ScalarType.Float32);
        var zeros = min.add(scales.mul(Int4Scalars.Offset), RootedScalars.One).to_type(ScalarType.BFloat16).to_type(ScalarType.Float32);
        var q = ((groups - zeros) / scales).add(Int4Scalars.Offset, RootedScalars.One).round().clamp(RootedScalars.Zero, Int4Scalars.Largest).to_type(ScalarType.Int32).view(rows, columns / 2, 2);
        var pairs = q.select(-1, 0).mul(Int4Scalars.Levels).add(q.select(-1, 1), RootedScalars.One).to_type(ScalarType.Byte);
        return new Int4Weights(pairs, scales.view(rows, -1), zeros.view(rows, -1)).MoveOutOf(scope);
    }

    /// <summary>Hands the three tensors from <paramref name="scope"/> to the scope around it (or none), so they outlive it.</summary>
    internal Int4Weights MoveOutOf(TorchSharp.DisposeScope scope)
    {
        scope.MoveToOuter(Pairs, Scales, Zeros);
        return this;
    }

    /// <summary>The values q, int32 <c>[N, K]</c>.</summary>
    public Tensor Values()
    {
        using var scope = NewDisposeScope();
        var wide = Pairs.to_type(ScalarType.Int32);
        var values = stack([wide.div(Int4Scalars.Levels, rounding_mode: RoundingMode.floor), wide.remainder(Int4Scalars.Levels)], -1).view(Pairs.shape[0], Pairs.shape[1] * 2);
        return scope.MoveToOuter(values);
    }

    /// <summary>The float32 weight these values stand for: <c>(q − 8) · scale + zero</c>.</summary>
    public Tensor Dequantize()
    {
        using var scope = NewDisposeScope();
        long rows = Pairs.shape[0], groups = Scales.shape[1];
        var q = Values().view(rows, groups, -1).to_type(ScalarType.Float32);
        var weight = (q.sub(Int4Scalars.Offset) * Scales.to_type(ScalarType.Float32).unsqueeze(-1)).add(Zeros.to_type(ScalarType.Float32).unsqueeze(-1), RootedScalars.One).view(rows, -1);
        return scope.MoveToOuter(weight);
    }

    /// <summary>Frees the tensors.</summary>
    public void Dispose()
    {
        Pairs.Dispose();
        Scales.Dispose();
        Zeros.Dispose();
    }
}
