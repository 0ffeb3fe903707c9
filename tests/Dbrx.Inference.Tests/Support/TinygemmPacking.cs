using Dbrx.Inference.Runtime;
using static TorchSharp.torch;

namespace Dbrx.Inference.Tests.Support;

/// <summary>libtorch's CUDA int4 packing (<c>matrix_to_m16n8k16_Bint4_layout</c>) transcribed line by line, to test readers of its layout on the CPU.</summary>
internal static class TinygemmPacking
{
    /// <summary>
    /// The kernel's index arithmetic, one warp lane at a time: input uint8 pairs <c>[n][k/2]</c> (even column in the
    /// high nibble), output int32 <c>[n/8][k/(tiles·16)][32][tiles/2]</c>.
    /// </summary>
    public static Tensor PackLikeTheCudaKernel(int[] values, int n, int k)
    {
        int innerKTiles = AtenOps.CudaInnerKTiles(k);
        byte Pair(int row, int byteColumn) => (byte)((values[row * k + 2 * byteColumn] << 4) | values[row * k + 2 * byteColumn + 1]);
        int nTiles = n / 8, kSuperTiles = k / (innerKTiles * 16), half = innerKTiles / 2;
        var output = new int[nTiles * kSuperTiles * 32 * half];
        for (int nTile = 0; nTile < nTiles; nTile++)
            for (int kOuterTile = 0; kOuterTile < kSuperTiles; kOuterTile++)
                for (int t = 0; t < 32; t++)
                    for (int innerKTile = 0; innerKTile < innerKTiles; innerKTile += 2)
                    {
                        int n0 = nTile * 8 + t / 4;
                        int kBase0 = (kOuterTile * innerKTiles + innerKTile) * 16 / 2;
                        int kBase1 = kBase0 + 16 / 2;
                        int[] ks = [kBase0 + t % 4, kBase0 + t % 4 + 4, kBase1 + t % 4, kBase1 + t % 4 + 4];
                        uint[] v = [.. ks.Select(c => (uint)Pair(n0, c))];
                        uint pack = ((v[3] & 0xF) << 28) | ((v[2] & 0xF) << 24) | ((v[1] & 0xF) << 20) | ((v[0] & 0xF) << 16)
                            | ((v[3] & 0xF0) << 8) | ((v[2] & 0xF0) << 4) | (v[1] & 0xF0) | ((v[0] & 0xF0) >> 4);
                        output[((nTile * kSuperTiles + kOuterTile) * 32 + t) * half + innerKTile / 2] = unchecked((int)pack);
                    }
        return tensor(output, [nTiles, kSuperTiles, 32, half], ScalarType.Int32);
    }
}
