namespace Dbrx.Inference.Configuration;

/// <summary>Attention settings of a DBRX model (<c>attn_config</c> in <c>config.json</c>).</summary>
public sealed record DbrxAttentionConfig
{
    /// <summary>Dropout on attention probabilities; training only, ignored at inference.</summary>
    public double AttnPdrop { get; init; }

    /// <summary>Bound of the clamp applied to the fused QKV projection, or <see langword="null"/> for no clamp.</summary>
    public double? ClipQkv { get; init; }

    /// <summary>Number of key/value heads (grouped-query attention; 1 is multi-query attention).</summary>
    public int KvNHeads { get; init; } = 1;

    /// <summary>Base of the rotary position embedding.</summary>
    public double RopeTheta { get; init; } = 10000.0;
}

/// <summary>Mixture-of-experts feed-forward settings of a DBRX model (<c>ffn_config</c> in <c>config.json</c>).</summary>
public sealed record DbrxFfnConfig
{
    /// <summary>Activation of the expert GLU (<c>ffn_act_fn.name</c>): one of the reference's <c>ACT2FN</c> names: <c>silu</c>, <c>gelu</c>, <c>relu</c>, ...</summary>
    public string ActivationName { get; init; } = "silu";

    /// <summary>Intermediate size of one expert.</summary>
    public int FfnHiddenSize { get; init; } = 3584;

    /// <summary>Number of experts per block.</summary>
    public int MoeNumExperts { get; init; } = 4;

    /// <summary>Experts chosen per token.</summary>
    public int MoeTopK { get; init; } = 1;

    /// <summary>Router input jitter; training only, ignored at inference.</summary>
    public double? MoeJitterEps { get; init; }

    /// <summary>Weight of the load-balancing loss added to the language-model loss.</summary>
    public double MoeLossWeight { get; init; } = 0.01;

    /// <summary>p of the p-norm that renormalises the chosen experts' weights, or <see langword="null"/> for none.</summary>
    public double? MoeNormalizeExpertWeights { get; init; } = 1.0;
}

/// <summary>
/// The configuration of a DBRX model, as Hugging Face's <c>DbrxConfig</c> defines it. Defaults are the reference's
/// class defaults, which are not dbrx-instruct's: use <see cref="DbrxPresets"/> for real shapes.
/// </summary>
public sealed record DbrxConfig
{
    /// <summary>Model width.</summary>
    public int DModel { get; init; } = 2048;

    /// <summary>Number of attention (query) heads.</summary>
    public int NHeads { get; init; } = 16;

    /// <summary>Number of transformer blocks.</summary>
    public int NLayers { get; init; } = 24;

    /// <summary>Longest sequence (prompt plus generated tokens) the model supports.</summary>
    public int MaxSeqLen { get; init; } = 2048;

    /// <summary>Rows of the embedding and of the language-model head.</summary>
    public int VocabSize { get; init; } = 32000;

    /// <summary>Residual dropout; training only.</summary>
    public double ResidPdrop { get; init; }

    /// <summary>Embedding dropout; training only.</summary>
    public double EmbPdrop { get; init; }

    /// <summary>Standard deviation of the reference's random initialisation.</summary>
    public double InitializerRange { get; init; } = 0.02;

    /// <summary>Whether forward passes return router outputs (and add the auxiliary loss) by default.</summary>
    public bool OutputRouterLogits { get; init; }

    /// <summary>Whether the model is meant to use a KV cache when generating.</summary>
    public bool UseCache { get; init; } = true;

    /// <summary>The dtype the checkpoint was saved in (<c>torch_dtype</c>), for example <c>bfloat16</c>, if stated.</summary>
    public string? TorchDtype { get; init; }

    /// <summary>Attention settings.</summary>
    public DbrxAttentionConfig Attention { get; init; } = new();

    /// <summary>Mixture-of-experts settings.</summary>
    public DbrxFfnConfig Ffn { get; init; } = new();

    /// <summary>Width of one attention head.</summary>
    public int HeadDim => DModel / NHeads;

    /// <summary>Query heads that share one key/value head.</summary>
    public int KvGroups => NHeads / Attention.KvNHeads;

    /// <summary>
    /// Tokens per sequence a KV cache holds unless told otherwise: <c>max_seq_len</c> capped at 4096, so the cache of
    /// a 32K-context model stays small; callers that need long prompts set their context length explicitly.
    /// </summary>
    public int DefaultContextLength => Math.Min(MaxSeqLen, 4096);

    /// <summary>Total parameter count.</summary>
    public long ParameterCount => EmbeddingParameters * 2 + DModel + NLayers * (AttentionParameters + RouterParameters + ExpertParameters);

    /// <summary>Parameters touched per token: everything but the experts not chosen (the embedding row counts as the whole table, as is usual).</summary>
    public long ActiveParameterCount =>
        EmbeddingParameters * 2 + DModel + NLayers * (AttentionParameters + RouterParameters + ExpertParameters / Ffn.MoeNumExperts * Ffn.MoeTopK);

    private long EmbeddingParameters => (long)VocabSize * DModel;
    private long AttentionParameters => 2L * DModel /* norms */ + (long)DModel * (DModel + 2L * Attention.KvNHeads * HeadDim) + (long)DModel * DModel;
    private long RouterParameters => (long)Ffn.MoeNumExperts * DModel;
    private long ExpertParameters => 3L * Ffn.MoeNumExperts * Ffn.FfnHiddenSize * DModel;

    /// <summary>Throws <see cref="DbrxConfigException"/> naming the first value the model cannot run with.</summary>
    /// <param name="source">Where the configuration came from, for the message (a file path, say).</param>
    public void Validate(string? source = null)
    {
        string where = source is null ? "DBRX config" : $"DBRX config {source}";
        void Fail(string message) => throw new DbrxConfigException($"{where}: {message}");

        RequirePositive(DModel, "d_model");
        RequirePositive(NHeads, "n_heads");
        RequirePositive(NLayers, "n_layers");
        RequirePositive(MaxSeqLen, "max_seq_len");
        RequirePositive(VocabSize, "vocab_size");
        RequirePositive(Attention.KvNHeads, "attn_config.kv_n_heads");
        RequirePositive(Ffn.FfnHiddenSize, "ffn_config.ffn_hidden_size");
        RequirePositive(Ffn.MoeNumExperts, "ffn_config.moe_num_experts");
        RequirePositive(Ffn.MoeTopK, "ffn_config.moe_top_k");

        if (DModel % NHeads != 0)
            Fail($"d_model ({DModel}) must be divisible by n_heads ({NHeads})");
        if (NHeads % Attention.KvNHeads != 0)
            Fail($"n_heads ({NHeads}) must be divisible by attn_config.kv_n_heads ({Attention.KvNHeads})");
        if (HeadDim % 2 != 0)
            Fail($"the head size d_model / n_heads = {HeadDim} must be even for rotary embeddings");
        if (Ffn.MoeTopK > Ffn.MoeNumExperts)
            Fail($"ffn_config.moe_top_k ({Ffn.MoeTopK}) cannot exceed ffn_config.moe_num_experts ({Ffn.MoeNumExperts})");
        if (!DbrxActivationNames.IsKnown(Ffn.ActivationName))
            Fail($"ffn_config.ffn_act_fn.name '{Ffn.ActivationName}' is not a known activation; known: {string.Join(", ", DbrxActivationNames.All)}");
        if (Attention.ClipQkv is { } clip && !(clip > 0))
            Fail($"attn_config.clip_qkv must be positive or null, not {clip}");
        if (!(Attention.RopeTheta > 0) || double.IsInfinity(Attention.RopeTheta))
            Fail($"attn_config.rope_theta must be a positive number, not {Attention.RopeTheta}");
        if (Ffn.MoeNormalizeExpertWeights is { } p && !(p > 0))
            Fail($"ffn_config.moe_normalize_expert_weights must be a positive p or null, not {p}");
        if (!(InitializerRange >= 0))
            Fail($"initializer_range must be non-negative, not {InitializerRange}");

        void RequirePositive(int value, string key)
        {
            if (value <= 0)
                Fail($"{key} must be positive, not {value}");
        }
    }
}
