namespace Dbrx.Inference.Modeling;

/// <summary>How attention is computed; the names follow the reference's <c>attn_implementation</c>.</summary>
public enum AttentionImplementation
{
    /// <summary>Matmul, additive mask, float32 softmax, matmul (<c>eager</c>). The only one that returns attention weights.</summary>
    Eager,

    /// <summary>libtorch's fused <c>scaled_dot_product_attention</c> (<c>sdpa</c>); the default.</summary>
    Sdpa,

    /// <summary>
    /// <c>flash_attention_2</c>: needs CUDA and bfloat16 or float16. It runs <c>scaled_dot_product_attention</c> in the
    /// form libtorch serves with the flash kernel (causal, no explicit mask). Calls that need a mask (padding, or rows of
    /// different lengths in one batch) cannot use that kernel and take the masked path instead.
    /// </summary>
    FlashAttention2,
}

/// <summary>Parses and prints attention implementation names as the reference spells them.</summary>
public static class AttentionImplementations
{
    /// <summary>The reference's names: <c>eager</c>, <c>sdpa</c>, <c>flash_attention_2</c>.</summary>
    public static IReadOnlyList<string> Names { get; } = ["eager", "sdpa", "flash_attention_2"];

    /// <summary>Parses a reference name.</summary>
    /// <exception cref="ArgumentException">Unknown name.</exception>
    public static AttentionImplementation Parse(string name) => name switch
    {
        "eager" => AttentionImplementation.Eager,
        "sdpa" => AttentionImplementation.Sdpa,
        "flash_attention_2" => AttentionImplementation.FlashAttention2,
        _ => throw new ArgumentException($"Unknown attention implementation '{name}'; use one of: {string.Join(", ", Names)}.", nameof(name)),
    };

    /// <summary>The reference's name for an implementation.</summary>
    public static string ToName(this AttentionImplementation implementation) => Names[(int)implementation];
}
