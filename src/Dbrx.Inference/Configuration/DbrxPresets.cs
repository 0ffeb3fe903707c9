namespace Dbrx.Inference.Configuration;

/// <summary>Named DBRX shapes: the released models and a tiny one with the real vocabulary for tests and samples.</summary>
public static class DbrxPresets
{
    /// <summary>databricks/dbrx-instruct: 132B parameters, 16 experts of which 4 are active, 32K context.</summary>
    public static DbrxConfig DbrxInstruct { get; } = new()
    {
        DModel = 6144,
        NHeads = 48,
        NLayers = 40,
        MaxSeqLen = 32768,
        VocabSize = 100352,
        InitializerRange = 0.02,
        TorchDtype = "bfloat16",
        Attention = new DbrxAttentionConfig { ClipQkv = 8, KvNHeads = 8, RopeTheta = 500000 },
        Ffn = new DbrxFfnConfig
        {
            FfnHiddenSize = 10752,
            MoeNumExperts = 16,
            MoeTopK = 4,
            MoeJitterEps = 0,
            MoeLossWeight = 0.05,
            MoeNormalizeExpertWeights = 1.0,
        },
    };

    /// <summary>databricks/dbrx-base: the same architecture as dbrx-instruct.</summary>
    public static DbrxConfig DbrxBase { get; } = DbrxInstruct;

    /// <summary>
    /// A tiny DBRX (about 13M parameters, float32) with the real 100352-token vocabulary and DBRX's structure:
    /// grouped-query attention, clipped QKV, rope_theta 500000, 16 experts with 4 active.
    /// </summary>
    public static DbrxConfig Tiny { get; } = DbrxInstruct with
    {
        DModel = 64,
        NHeads = 4,
        NLayers = 2,
        MaxSeqLen = 4096,
        TorchDtype = "float32",
        Attention = DbrxInstruct.Attention with { KvNHeads = 2 },
        Ffn = DbrxInstruct.Ffn with { FfnHiddenSize = 128 },
    };

    /// <summary>The preset names <see cref="Get"/> accepts.</summary>
    public static IReadOnlyList<string> Names { get; } = ["tiny", "dbrx-instruct", "dbrx-base"];

    /// <summary>Returns the preset with the given name.</summary>
    /// <exception cref="ArgumentException">The name is not one of <see cref="Names"/>.</exception>
    public static DbrxConfig Get(string name) => name switch
    {
        "tiny" => Tiny,
        "dbrx-instruct" => DbrxInstruct,
        "dbrx-base" => DbrxBase,
        _ => throw new ArgumentException($"Unknown preset '{name}'; known presets: {string.Join(", ", Names)}.", nameof(name)),
    };
}
