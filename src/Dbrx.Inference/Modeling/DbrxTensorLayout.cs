using Dbrx.Inference.Configuration;

namespace Dbrx.Inference.Modeling;

/// <summary>How the reference initialises a tensor of a freshly built model.</summary>
public enum DbrxInitKind
{
    /// <summary>Normal(0, initializer_range): linear layers, the embedding, the experts.</summary>
    Normal,

    /// <summary>All ones: LayerNorm weights.</summary>
    Ones,
}

/// <summary>One tensor of a DBRX checkpoint: its name, shape and how the reference initialises it.</summary>
/// <param name="Name">Hugging Face name, for example <c>transformer.blocks.0.ffn.experts.mlp.w1</c>.</param>
/// <param name="Shape">Its shape.</param>
/// <param name="Init">How it is initialised.</param>
public sealed record DbrxTensorSpec(string Name, long[] Shape, DbrxInitKind Init);

/// <summary>The tensors of a DBRX checkpoint in Hugging Face's names, in the order the reference registers them.</summary>
public static class DbrxTensorLayout
{
    /// <summary>Every tensor of a model with this configuration (dbrx-instruct: 323).</summary>
    public static IReadOnlyList<DbrxTensorSpec> For(DbrxConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        long d = config.DModel, qkv = d + 2L * config.Attention.KvNHeads * config.HeadDim;
        long expertRows = (long)config.Ffn.MoeNumExperts * config.Ffn.FfnHiddenSize;
        var specs = new List<DbrxTensorSpec> { new("transformer.wte.weight", [config.VocabSize, d], DbrxInitKind.Normal) };
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
        specs.Add(new("transformer.norm_f.weight", [d], DbrxInitKind.Ones));
        specs.Add(new("lm_head.weight", [config.VocabSize, d], DbrxInitKind.Normal));
        return specs;
    }
}
