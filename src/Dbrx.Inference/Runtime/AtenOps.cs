using static TorchSharp.torch;

namespace Dbrx.Inference.Runtime;

/// <summary>
/// ATen operators TorchSharp does not bind, reached through a TorchScript compilation unit: scaled dot-product
/// attention with grouped-query support (no repeated keys and values) and grouped matmul (every expert's rows in
/// one call, offsets on the device, no host sync). The script is a constant compiled once: a script that fails to
/// compile terminates the process, so it is exercised by the tests on every machine.
/// </summary>
internal static class AtenOps
{
    private const string Script = """
        def sdpa_gqa(q: Tensor, k: Tensor, v: Tensor, mask: Optional[Tensor], causal: bool):
            return torch.scaled_dot_product_attention(q, k, v, attn_mask=mask, is_causal=causal, enable_gqa=True)

        def grouped_mm(a: Tensor, b: Tensor, offsets: Tensor):
            return torch._grouped_mm(a, b, offs=offsets)

        def int4_pack_cpu(values: Tensor, inner_k_tiles: int):
            return torch._convert_weight_to_int4pack_for_cpu(values, inner_k_tiles)

        def int4_pack_cuda(pairs: Tensor, inner_k_tiles: int):
            return torch._convert_weight_to_int4pack(pairs, inner_k_tiles)

        def int4_mm_cpu(x: Tensor, packed: Tensor, group_size: int, scales_and_zeros: Tensor):
            return torch._weight_int4pack_mm_for_cpu(x, packed, group_size, scales_and_zeros)

        def int4_mm_cuda(x: Tensor, packed: Tensor, group_size: int, scales_and_zeros: Tensor):
            return torch._weight_int4pack_mm(x, packed, group_size, scales_and_zeros)

        """;

    private static readonly Lazy<TorchSharp.torch.jit.CompilationUnit> Unit = new(() => jit.compile(Script));

    /// <summary>
    /// Attention of <c>[B, heads, T, d]</c> queries over <c>[B, kv_heads, L, d]</c> keys and values; each group of
    /// heads / kv_heads query heads shares a key/value head. <paramref name="mask"/> is additive or null.
    /// </summary>
    public static Tensor ScaledDotProductAttentionGqa(Tensor q, Tensor k, Tensor v, Tensor? mask, bool causal) =>
        Unit.Value.invoke<Tensor>("sdpa_gqa", q, k, v, mask!, causal);

    /// <summary>Packs int4 values <c>[N, K]</c> (int32, 0..15, on the CPU) into the CPU kernel's layout.</summary>
    public static Tensor PackInt4ForCpu(Tensor values) => Unit.Value.invoke<Tensor>("int4_pack_cpu", values, 2);

    /// <summary>
    /// Packs int4 pairs <c>[N, K/2]</c> (uint8, on a CUDA device) into tinygemm's layout, with the most inner K tiles
    /// (8, 4 or 2 tiles of 16) that divide K: tinygemm needs K to be a multiple of them, and more tiles mean wider
    /// loads. DBRX's rows (6144, 10752) take 8; K must be at least a multiple of 32.
    /// </summary>
    public static Tensor PackInt4ForCuda(Tensor pairs) => Unit.Value.invoke<Tensor>("int4_pack_cuda", pairs, CudaInnerKTiles(pairs.shape[1] * 2));

    /// <summary>tinygemm's inner K tiles for rows of <paramref name="k"/> values.</summary>
    internal static int CudaInnerKTiles(long k) =>
        k % 128 == 0 ? 8 : k % 64 == 0 ? 4 : k % 32 == 0 ? 2
        : throw new ArgumentException($"int4 rows of {k} values are not a multiple of 32, as libtorch's int4 kernel needs.", nameof(k));

    /// <summary>
    /// <c>x</c> <c>[M, K]</c> times the packed int4 weight's transpose: <c>[M, N]</c>. <paramref name="scalesAndZeros"/>
    /// is <c>[K/group, N, 2]</c> in x's dtype; a weight is <c>(q − 8) · scale + zero</c>.
    /// </summary>
    public static Tensor Int4Matmul(Tensor x, Tensor packed, int groupSize, Tensor scalesAndZeros) =>
        Unit.Value.invoke<Tensor>(x.device_type == TorchSharp.DeviceType.CUDA ? "int4_mm_cuda" : "int4_mm_cpu", x, packed, groupSize, scalesAndZeros);

    /// <summary>
    /// <c>a</c> <c>[rows, K]</c> sorted by group, times <c>b</c> <c>[groups, K, N]</c>: rows before
    /// <c>offsets[g]</c> (int32, cumulative) and after the previous offset use <c>b[g]</c>.
    /// </summary>
    public static Tensor GroupedMatmul(Tensor a, Tensor b, Tensor offsets) =>
        Unit.Value.invoke<Tensor>("grouped_mm", a, b, offsets);
}
