using Dbrx.Inference.Runtime;
using TorchSharp;
using static TorchSharp.torch;

namespace Dbrx.Inference.Modeling;

/// <summary>
/// Rotary position embedding as the reference computes it: GPT-NeoX style (rotate halves, not interleaved), the full
/// head rotated, angles in float32 and cos/sin cast to the activation dtype before use.
/// </summary>
internal static class RotaryEmbedding
{
    /// <summary>
    /// cos and sin for each position, <c>[B, T, head_dim]</c> in <paramref name="dtype"/>:
    /// <c>inv_freq[j] = 1 / theta^(2j / head_dim)</c>, <c>angle = position · inv_freq</c>, duplicated to the full width.
    /// </summary>
    public static (Tensor Cos, Tensor Sin) CosSin(Tensor positionIds, int headDim, double theta, ScalarType dtype)
    {
        using var scope = NewDisposeScope();
        using var width = headDim.ToScalar();
        using var @base = theta.ToScalar();
        var exponents = RootedScalars.Arange(0, headDim, 2, ScalarType.Int64, positionIds.device).to_type(ScalarType.Float32).div(width);
        var invFreq = full_like(exponents, @base).pow(exponents).reciprocal();
        var angles = positionIds.to_type(ScalarType.Float32).unsqueeze(-1) * invFreq;   // [B, T, head_dim / 2]
        var emb = cat([angles, angles], -1);
        return scope.MoveToOuter(emb.cos().to_type(dtype), emb.sin().to_type(dtype));
    }

    /// <summary>Applies the rotation to <c>[B, T, heads, head_dim]</c> with cos/sin of shape <c>[B, T, head_dim]</c>.</summary>
    public static Tensor Apply(Tensor x, Tensor cos, Tensor sin)
    {
        using var scope = NewDisposeScope();
        long half = x.shape[^1] / 2;
        var rotated = cat([-x.narrow(-1, half, half), x.narrow(-1, 0, half)], -1);
        return scope.MoveToOuter((x * cos.unsqueeze(2)).add(rotated * sin.unsqueeze(2), RootedScalars.One));
    }
}
