using Dbrx.Inference.Checkpoints;
using Dbrx.Inference.Configuration;
using Dbrx.Inference.Quantization;

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
public sealed record DbrxTensorSpec(string Name, long[] Shape, DbrxInitKind Init)
{
    /// <summary>Values the tensor holds.</summary>
    public long ElementCount => Shape.Aggregate(1L, (a, b) => a * b);
}

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

    /// <summary>
    /// The tensors a checkpoint stores: the float layout, or with <paramref name="quantization"/> each quantized tensor
    /// replaced by its qweight (U8), scales and zeros (BF16). A null dtype means the model's float dtype.
    /// </summary>
    public static IReadOnlyList<(string Name, long[] Shape, SafetensorsDType? DType)> Stored(DbrxConfig config, DbrxQuantization? quantization)
    {
        var stored = new List<(string, long[], SafetensorsDType?)>();
        foreach (DbrxTensorSpec spec in For(config))
        {
            if (quantization is null || !quantization.Quantizes(spec.Name))
            {
                stored.Add((spec.Name, spec.Shape, null));
                continue;
            }
            var (rows, columns) = QuantizedOrientation(config, spec);
            var (qweight, scales, zeros) = DbrxQuantization.StoredNames(spec.Name);
            stored.Add((qweight, [rows, columns / 2], SafetensorsDType.U8));
            stored.Add((scales, [rows, columns / quantization.GroupSize], SafetensorsDType.BF16));
            stored.Add((zeros, [rows, columns / quantization.GroupSize], SafetensorsDType.BF16));
        }
        return stored;
    }

    /// <summary>A quantized tensor's linear orientation <c>[rows, columns]</c>: w2's experts are transposed to <c>[d, I]</c>.</summary>
    private static (long Rows, long Columns) QuantizedOrientation(DbrxConfig config, DbrxTensorSpec spec) =>
        IsExpertW2(spec.Name)
            ? ((long)config.Ffn.MoeNumExperts * config.DModel, config.Ffn.FfnHiddenSize)
            : (spec.Shape[0], spec.Shape[1]);
}
