namespace Dbrx.Inference.Configuration;

/// <summary>The tensors of a DBRX checkpoint in Hugging Face's names, in the order the reference registers them.</summary>
public static class DbrxTensorLayout
{
    /// <summary>The token embedding table.</summary>
    public const string EmbeddingName = "transformer.wte.weight";

    /// <summary>The final norm's weight.</summary>
    public const string FinalNormName = "transformer.norm_f.weight";

    /// <summary>The language-model head.</summary>
    public const string LmHeadName = "lm_head.weight";

    /// <summary>Every tensor of a model with this configuration (dbrx-instruct: 323).</summary>
    public static IReadOnlyList<DbrxTensorSpec> For(DbrxConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        long d = config.DModel, qkv = d + 2L * config.Attention.KvNHeads * config.HeadDim;
        long expertRows = (long)config.Ffn.MoeNumExperts * config.Ffn.FfnHiddenSize;
        var specs = new List<DbrxTensorSpec> { new(EmbeddingName, [config.VocabSize, d], DbrxInitKind.Normal) };
        for (int i = 0; i < config.NLayers; i++)
        {
            string block = $"transformer.blocks.{i}.";
            specs.Add(new(block + "norm_attn_norm.norm_1.weight", [d], DbrxInitKind.Ones));
            specs.Add(new(block + "norm_attn_norm.attn.Wqkv.weight", [qkv, d], DbrxInitKind.Normal));
            specs.Add(new(block + "norm_attn_norm.attn.out_proj.weight", [d, d], DbrxInitKind.Normal));
            specs.Add(new(block + "norm_attn_norm.norm_2.weight", [d], DbrxInitKind.Ones));
            specs.Add(new(block + "ffn.router.layer.weight", [config.Ffn.MoeNumExperts, d], DbrxInitKind.Normal));
            specs.Add(new(block + "ffn.experts.mlp.w1", [expertRows, d], DbrxInitKind.Normal));
            specs.Add(new(block + "ffn.experts.mlp.v1", [expertRows, d], DbrxInitKind.Normal));
            specs.Add(new(block + "ffn.experts.mlp.w2", [expertRows, d], DbrxInitKind.Normal));
        }
        specs.Add(new(FinalNormName, [d], DbrxInitKind.Ones));
        specs.Add(new(LmHeadName, [config.VocabSize, d], DbrxInitKind.Normal));
        return specs;
    }

    /// <summary>Whether a tensor is one of a block's three fused expert weights (<c>ffn.experts.mlp.w1</c>, <c>v1</c>, <c>w2</c>).</summary>
    public static bool IsExpertWeight(string name) =>
        name.EndsWith(".ffn.experts.mlp.w1", StringComparison.Ordinal) || name.EndsWith(".ffn.experts.mlp.v1", StringComparison.Ordinal) || IsExpertW2(name);

    /// <summary>Whether a tensor is a block's expert <c>w2</c>, the one the reference applies untransposed (<c>z · w2</c>).</summary>
    public static bool IsExpertW2(string name) => name.EndsWith(".ffn.experts.mlp.w2", StringComparison.Ordinal);
}
