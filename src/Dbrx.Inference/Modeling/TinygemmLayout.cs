using Dbrx.Inference.Runtime;
using static TorchSharp.torch;

namespace Dbrx.Inference.Modeling;

/// <summary>
/// Reads back tinygemm's int4 layout, the one <c>_convert_weight_to_int4pack</c> writes on CUDA for
/// <c>_weight_int4pack_mm</c>: int32 <c>[N/8, K/(16·tiles), 32, tiles/2]</c>. Lane t of a warp holds row
/// <c>8·nTile + t/4</c>; each int32 holds 8 values of two adjacent K tiles, nibble <c>4h + b</c> being column
/// <c>32·(kOuter·tiles/2 + j) + 8b + 2·(t mod 4) + h</c>. So the whole weight comes back with one shift, one mask and
/// one permutation of dimensions, on the device, without an index table.
/// </summary>
internal static class TinygemmLayout
{
    /// <summary>The int4 values q (int32, 0..15) <c>[N, K]</c> of a packed weight, on its device.</summary>
    public static Tensor Unpack(Tensor packed)
    {
        ArgumentNullException.ThrowIfNull(packed);
        if (packed.dim() != 4 || packed.shape[2] != 32 || packed.dtype != ScalarType.Int32)
            throw new ArgumentException($"Not a tinygemm int4 layout: {packed.dtype} [{string.Join(", ", packed.shape)}].", nameof(packed));
        using var scope = NewDisposeScope();
        long nTiles = packed.shape[0], kOuter = packed.shape[1], tilePairs = packed.shape[3];
        var shifts = RootedScalars.Arange(0, 32, 4, ScalarType.Int32, packed.device);
        var nibbles = packed.unsqueeze(-1).bitwise_right_shift(shifts).bitwise_and(tensor(15, ScalarType.Int32, packed.device));
        // [nTile, kOuter, t = 4·row + col, j, nibble = 4h + b] → rows (nTile, row), columns (kOuter, j, b, col, h).
        var values = nibbles.view(nTiles, kOuter, 8, 4, tilePairs, 2, 4).permute(0, 2, 1, 4, 6, 3, 5).reshape(nTiles * 8, kOuter * tilePairs * 32);
        return scope.MoveToOuter(values);
    }
}
