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

        """;

    private static readonly Lazy<TorchSharp.torch.jit.CompilationUnit> Unit = new(() => jit.compile(Script));

    /// <summary>
    /// Attention of <c>[B, heads, T, d]</c> queries over <c>[B, kv_heads, L, d]</c> keys and values; each group of
    /// heads / kv_heads query heads shares a key/value head. <paramref name="mask"/> is additive or null.
    /// </summary>
    public static Tensor ScaledDotProductAttentionGqa(Tensor q, Tensor k, Tensor v, Tensor? mask, bool causal) =>
        Unit.Value.invoke<Tensor>("sdpa_gqa", q, k, v, mask!, causal);

    /// <summary>
    /// <c>a</c> <c>[rows, K]</c> sorted by group, times <c>b</c> <c>[groups, K, N]</c>: rows before
    /// <c>offsets[g]</c> (int32, cumulative) and after the previous offset use <c>b[g]</c>.
    /// </summary>
    public static Tensor GroupedMatmul(Tensor a, Tensor b, Tensor offsets) =>
        Unit.Value.invoke<Tensor>("grouped_mm", a, b, offsets);
}
