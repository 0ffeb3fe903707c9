using System.Text.Json.Nodes;

namespace Dbrx.Inference.Configuration;

/// <summary>
/// Weight-only int4 quantization of a DBRX model: round-to-nearest, groupwise along each weight row, with a scale
/// and a zero per group (tinygemm's scheme: <c>w ≈ (q − 8) · scale + zero</c>, q in 0..15). The experts are always
/// quantized; attention projections and lm_head optionally; the embedding and the norms never.
/// </summary>
/// <remarks>
/// In <c>config.json</c> it is the object <c>quantization_config</c>:
/// <c>{"quant_method": "dbrx_int4", "bits": 4, "group_size": 128, "modules": ["experts", "attention", "lm_head"]}</c>.
/// A quantized linear weight <c>X.weight</c> <c>[N, K]</c> is stored as <c>X.qweight</c> (U8 <c>[N, K/2]</c>, two
/// values per byte, the even column in the high nibble), <c>X.scales</c> and <c>X.zeros</c> (BF16 <c>[N, K/group]</c>).
/// Expert tensors <c>mlp.w1</c> and <c>mlp.v1</c> (<c>[E·I, d]</c>) are stored the same way under
/// <c>mlp.w1.qweight</c> and so on; <c>mlp.w2</c> is stored in its linear orientation, each expert transposed to
/// <c>[d, I]</c>, as <c>mlp.w2.qweight</c> U8 <c>[E·d, I/2]</c> with scales and zeros <c>[E·d, I/group]</c>.
/// </remarks>
public sealed record DbrxQuantization
{
    /// <summary>The value of <c>quant_method</c>.</summary>
    public const string Method = "dbrx_int4";

    /// <summary>Weights per scale and zero; a divisor of every quantized weight's row length (128 for DBRX).</summary>
    public int GroupSize { get; init; } = 128;

    /// <summary>Quantize the attention projections (Wqkv, out_proj) too.</summary>
    public bool Attention { get; init; }

    /// <summary>Quantize lm_head too.</summary>
    public bool LmHead { get; init; }

    /// <summary>Bits per weight.</summary>
    public int Bits => 4;

    /// <summary>The module groups quantized, as written in <c>config.json</c>.</summary>
    public IReadOnlyList<string> Modules => ["experts", .. Attention ? new[] { "attention" } : [], .. LmHead ? new[] { "lm_head" } : []];

    /// <summary>Parses the module list a user writes: <c>experts</c>, <c>attention</c>, <c>lm_head</c>, comma-separated.</summary>
    /// <exception cref="ArgumentException">An unknown module name, or a group size the kernels do not support.</exception>
    public static DbrxQuantization WithModules(string modules, int groupSize = 128)
    {
        ArgumentNullException.ThrowIfNull(modules);
        CheckGroupSize(groupSize);
        var names = modules.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).ToHashSet();
        foreach (string name in names.Where(n => n is not ("experts" or "attention" or "lm_head")))
            throw new ArgumentException($"Unknown quantized module '{name}'; use experts, attention, lm_head.");
        return new DbrxQuantization { GroupSize = groupSize, Attention = names.Contains("attention"), LmHead = names.Contains("lm_head") };
    }

    /// <summary>Checks that every quantized weight's row length is a multiple of the group size (and of 32, for the kernels).</summary>
    /// <exception cref="ArgumentException">The group size does not fit the model.</exception>
    public void Validate(DbrxConfig config)
    {
        CheckGroupSize(GroupSize);
        var rows = new List<(string What, int Length)> { ("d_model (experts' w1, v1)", config.DModel), ("ffn_hidden_size (experts' w2)", config.Ffn.FfnHiddenSize) };
        if (Attention || LmHead)
            rows.Add(("d_model", config.DModel));
        foreach (var (what, length) in rows)
        {
            if (length % GroupSize != 0 || length % 32 != 0)
                throw new ArgumentException($"int4 quantization needs {what} = {length} to be a multiple of the group size {GroupSize} (and of 32); choose a smaller group size.");
        }
        // The kernels also need the output rows of every int4 weight in multiples of 16.
        var outputs = new List<(string What, int Rows)> { ("ffn_hidden_size", config.Ffn.FfnHiddenSize), ("d_model", config.DModel) };
        if (Attention)
            outputs.Add(("the fused QKV width", config.DModel + 2 * config.Attention.KvNHeads * config.HeadDim));
        if (LmHead)
            outputs.Add(("vocab_size (lm_head)", config.VocabSize));
        foreach (var (what, count) in outputs)
        {
            if (count % 16 != 0)
                throw new ArgumentException($"int4 quantization needs {what} = {count} to be a multiple of 16.");
        }
    }

    /// <summary>
    /// This scheme with the largest supported group size, at most <see cref="GroupSize"/>, that fits the model: for a
    /// caller that did not choose the group size, so a narrow model (the tiny preset's d_model 64) still quantizes.
    /// </summary>
    /// <exception cref="ArgumentException">Not even the smallest group size fits; the message says which dimension.</exception>
    public DbrxQuantization WithLargestGroupSizeFor(DbrxConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        foreach (int candidate in SupportedGroupSizes.Where(size => size <= GroupSize).OrderDescending())
        {
            var scheme = this with { GroupSize = candidate };
            if (scheme.Fits(config))
                return scheme;
        }
        (this with { GroupSize = SupportedGroupSizes.Min() }).Validate(config);
        return this;
    }

    private bool Fits(DbrxConfig config)
    {
        try
        {
            Validate(config);
            return true;
        }
        catch (ArgumentException)
        {
            return false;
        }
    }

    private static readonly int[] SupportedGroupSizes = [32, 64, 128, 256];

    private static void CheckGroupSize(int groupSize)
    {
        if (!SupportedGroupSizes.Contains(groupSize))
            throw new ArgumentException($"The int4 group size must be 32, 64, 128 or 256, not {groupSize}.");
    }

    /// <summary>The <c>quantization_config</c> object.</summary>
    public JsonObject ToJson() => new()
    {
        ["quant_method"] = Method,
        ["bits"] = Bits,
        ["group_size"] = GroupSize,
        ["modules"] = new JsonArray([.. Modules.Select(m => (JsonNode)m)]),
    };

    /// <summary>Reads <c>quantization_config</c> from a config.json, or null when the model is not quantized.</summary>
    /// <exception cref="DbrxConfigException">The block is present but not this format.</exception>
    public static DbrxQuantization? FromConfigFile(string path)
    {
        string file = Directory.Exists(path) ? Path.Combine(path, DbrxConfigJson.FileName) : path;
        if (!File.Exists(file) || JsonNode.Parse(File.ReadAllText(file)) is not JsonObject root || root["quantization_config"] is not JsonObject q)
            return null;
        if (q["quant_method"]?.GetValue<string>() != Method || q["bits"]?.GetValue<int>() != 4)
            throw new DbrxConfigException($"DBRX config {file}: quantization_config is {q.ToJsonString()}; only {{\"quant_method\": \"{Method}\", \"bits\": 4}} is supported.");
        var modules = q["modules"] is JsonArray list ? string.Join(',', list.Select(m => m!.GetValue<string>())) : "experts";
        return WithModules(modules, q["group_size"]?.GetValue<int>() ?? 128);
    }

    /// <summary>
    /// Bytes <paramref name="weights"/> int4 weights occupy in memory: half a byte each, plus a scale and a zero per
    /// group in the activation dtype of <paramref name="elementBytes"/> bytes.
    /// </summary>
    public long WeightBytes(long weights, int elementBytes) => weights / 2 + 2 * (weights / GroupSize) * elementBytes;

    /// <summary>Whether a float checkpoint tensor is stored quantized under this scheme.</summary>
    public bool Quantizes(string tensorName) =>
        DbrxTensorLayout.IsExpertWeight(tensorName)
        || (Attention && (tensorName.EndsWith(".attn.Wqkv.weight", StringComparison.Ordinal) || tensorName.EndsWith(".attn.out_proj.weight", StringComparison.Ordinal)))
        || (LmHead && tensorName == DbrxTensorLayout.LmHeadName);

    /// <summary>The stored names of a quantized tensor: qweight, scales, zeros.</summary>
    public static (string QWeight, string Scales, string Zeros) StoredNames(string tensorName)
    {
        string stem = tensorName.EndsWith(".weight", StringComparison.Ordinal) ? tensorName[..^".weight".Length] : tensorName;
        return (stem + ".qweight", stem + ".scales", stem + ".zeros");
    }
}
