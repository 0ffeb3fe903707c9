using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Dbrx.Inference.Configuration;

/// <summary>
/// Reads and writes Hugging Face <c>config.json</c> files for DBRX, laid out as databricks/dbrx-instruct ships them:
/// flat top-level keys plus the nested <c>attn_config</c> and <c>ffn_config</c>.
/// </summary>
/// <remarks>
/// Absent keys take the reference's defaults; the reference's <c>attribute_map</c> aliases (<c>hidden_size</c>,
/// <c>num_attention_heads</c>, <c>num_hidden_layers</c>, <c>max_position_embeddings</c>) are accepted; unknown keys are
/// ignored. <c>attn_config.rope_theta</c> wins over <c>rope_parameters.rope_theta</c>, which transformers 5.x writes
/// as 10000 whatever the model's real value is.
/// </remarks>
public static class DbrxConfigJson
{
    /// <summary>The file name Hugging Face uses for a model's configuration.</summary>
    public const string FileName = "config.json";

    private static readonly (string Alias, string Key)[] AttributeMap =
    [
        ("hidden_size", "d_model"),
        ("num_attention_heads", "n_heads"),
        ("num_hidden_layers", "n_layers"),
        ("max_position_embeddings", "max_seq_len"),
    ];

    /// <summary>Loads and validates <c>config.json</c> from a model folder, or from the given file.</summary>
    /// <exception cref="DbrxConfigException">The file is missing, malformed or describes an unusable model.</exception>
    public static DbrxConfig Load(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        string file = Directory.Exists(path) ? Path.Combine(path, FileName) : path;
        if (!File.Exists(file))
            throw new DbrxConfigException(Directory.Exists(path)
                ? $"No {FileName} in model folder '{path}'."
                : $"'{path}' does not exist; expected a model folder holding {FileName} and safetensors weights.");
        return Parse(File.ReadAllText(file), file);
    }

    /// <summary>Parses and validates a DBRX <c>config.json</c> text.</summary>
    /// <param name="json">The JSON text.</param>
    /// <param name="source">Where the text came from, used in error messages.</param>
    /// <exception cref="DbrxConfigException">The text is malformed or describes an unusable model.</exception>
    public static DbrxConfig Parse(string json, string? source = null)
    {
        ArgumentNullException.ThrowIfNull(json);
        var reader = new Reader(source);
        JsonNode? root;
        try
        {
            root = JsonNode.Parse(json, documentOptions: new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true });
        }
        catch (JsonException e)
        {
            throw reader.Error($"is not valid JSON ({e.Message})", e);
        }
        if (root is not JsonObject top)
            throw reader.Error("must be a JSON object");

        string? modelType = reader.String(top, "model_type");
        if (modelType is not null && modelType != "dbrx")
            throw reader.Error($"model_type is '{modelType}', expected 'dbrx'");
        if (reader.Bool(top, "tie_word_embeddings") == true)
            throw reader.Error("tie_word_embeddings is true, which DBRX does not support (its lm_head is separate from the embedding)");

        var defaults = new DbrxConfig();
        var config = new DbrxConfig
        {
            DModel = reader.AliasedInt(top, "d_model") ?? defaults.DModel,
            NHeads = reader.AliasedInt(top, "n_heads") ?? defaults.NHeads,
            NLayers = reader.AliasedInt(top, "n_layers") ?? defaults.NLayers,
            MaxSeqLen = reader.AliasedInt(top, "max_seq_len") ?? defaults.MaxSeqLen,
            VocabSize = reader.Int(top, "vocab_size") ?? defaults.VocabSize,
            ResidPdrop = reader.Number(top, "resid_pdrop") ?? defaults.ResidPdrop,
            EmbPdrop = reader.Number(top, "emb_pdrop") ?? defaults.EmbPdrop,
            InitializerRange = reader.Number(top, "initializer_range") ?? defaults.InitializerRange,
            OutputRouterLogits = reader.Bool(top, "output_router_logits") ?? defaults.OutputRouterLogits,
            UseCache = reader.Bool(top, "use_cache") ?? defaults.UseCache,
            TorchDtype = reader.String(top, "torch_dtype") ?? reader.String(top, "dtype"),
            Attention = ParseAttention(reader, top),
            Ffn = ParseFfn(reader, top),
        };
        config.Validate(source);
        return config;
    }

    private static DbrxAttentionConfig ParseAttention(Reader reader, JsonObject top)
    {
        var defaults = new DbrxAttentionConfig();
        JsonObject? attn = reader.Object(top, "attn_config");
        double? ropeTheta = attn is null ? null : reader.Number(attn, "rope_theta", "attn_config.");
        if (ropeTheta is null && reader.Object(top, "rope_parameters") is { } rope)
        {
            // Only configs without attn_config.rope_theta fall back to rope_parameters (transformers 5.x writes 10000 there).
            string? ropeType = reader.String(rope, "rope_type", "rope_parameters.");
            if (ropeType is not null && ropeType != "default")
                throw reader.Error($"rope_parameters.rope_type '{ropeType}' is not supported; DBRX uses the default rotary embedding");
            ropeTheta = reader.Number(rope, "rope_theta", "rope_parameters.");
        }
        if (attn is null)
            return defaults with { RopeTheta = ropeTheta ?? defaults.RopeTheta };
        return new DbrxAttentionConfig
        {
            AttnPdrop = reader.Number(attn, "attn_pdrop", "attn_config.") ?? defaults.AttnPdrop,
            ClipQkv = reader.Number(attn, "clip_qkv", "attn_config."),
            KvNHeads = reader.Int(attn, "kv_n_heads", "attn_config.") ?? defaults.KvNHeads,
            RopeTheta = ropeTheta ?? defaults.RopeTheta,
        };
    }

    private static DbrxFfnConfig ParseFfn(Reader reader, JsonObject top)
    {
        var defaults = new DbrxFfnConfig();
        JsonObject? ffn = reader.Object(top, "ffn_config");
        if (ffn is null)
            return defaults;
        const string p = "ffn_config.";
        string activation = defaults.ActivationName;
        if (reader.Object(ffn, "ffn_act_fn", p) is { } act)
            activation = reader.String(act, "name", p + "ffn_act_fn.") ?? throw reader.Error("ffn_config.ffn_act_fn has no 'name'");
        return new DbrxFfnConfig
        {
            ActivationName = activation,
            FfnHiddenSize = reader.Int(ffn, "ffn_hidden_size", p) ?? defaults.FfnHiddenSize,
            MoeNumExperts = reader.Int(ffn, "moe_num_experts", p) ?? defaults.MoeNumExperts,
            MoeTopK = reader.Int(ffn, "moe_top_k", p) ?? defaults.MoeTopK,
            MoeJitterEps = reader.Number(ffn, "moe_jitter_eps", p),
            MoeLossWeight = reader.Number(ffn, "moe_loss_weight", p) ?? defaults.MoeLossWeight,
            // Present-and-null means "no renormalisation", absent means the default p = 1.
            MoeNormalizeExpertWeights = ffn.ContainsKey("moe_normalize_expert_weights")
                ? reader.Number(ffn, "moe_normalize_expert_weights", p)
                : defaults.MoeNormalizeExpertWeights,
        };
    }

    /// <summary>Writes the configuration in dbrx-instruct's layout, every key explicit.</summary>
    public static string ToJson(DbrxConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        var root = new JsonObject
        {
            ["architectures"] = new JsonArray("DbrxForCausalLM"),
            ["model_type"] = "dbrx",
            ["d_model"] = config.DModel,
            ["n_heads"] = config.NHeads,
            ["n_layers"] = config.NLayers,
            ["max_seq_len"] = config.MaxSeqLen,
            ["vocab_size"] = config.VocabSize,
            ["attn_config"] = new JsonObject
            {
                ["attn_pdrop"] = config.Attention.AttnPdrop,
                ["clip_qkv"] = config.Attention.ClipQkv,
                ["kv_n_heads"] = config.Attention.KvNHeads,
                ["model_type"] = "",
                ["rope_theta"] = config.Attention.RopeTheta,
            },
            ["ffn_config"] = new JsonObject
            {
                ["ffn_act_fn"] = new JsonObject { ["name"] = config.Ffn.ActivationName },
                ["ffn_hidden_size"] = config.Ffn.FfnHiddenSize,
                ["model_type"] = "",
                ["moe_jitter_eps"] = config.Ffn.MoeJitterEps,
                ["moe_loss_weight"] = config.Ffn.MoeLossWeight,
                ["moe_normalize_expert_weights"] = config.Ffn.MoeNormalizeExpertWeights,
                ["moe_num_experts"] = config.Ffn.MoeNumExperts,
                ["moe_top_k"] = config.Ffn.MoeTopK,
            },
            ["emb_pdrop"] = config.EmbPdrop,
            ["resid_pdrop"] = config.ResidPdrop,
            ["initializer_range"] = config.InitializerRange,
            ["output_router_logits"] = config.OutputRouterLogits,
            ["tie_word_embeddings"] = false,
            ["torch_dtype"] = config.TorchDtype,
            ["use_cache"] = config.UseCache,
        };
        return root.ToJsonString(new JsonSerializerOptions { WriteIndented = true });
    }

    /// <summary>Typed access to JSON values with error messages that name the source, key and value.</summary>
    private sealed class Reader(string? source)
    {
        public DbrxConfigException Error(string message, Exception? inner = null) =>
            new(source is null ? $"DBRX config: {message}" : $"DBRX config {source}: {message}", inner);

        public int? AliasedInt(JsonObject obj, string key)
        {
            int? value = Int(obj, key);
            foreach (var (alias, target) in AttributeMap)
            {
                if (target != key || Int(obj, alias) is not { } aliased)
                    continue;
                if (value is { } v && v != aliased)
                    throw Error($"{key} is {v} but its alias {alias} is {aliased}; remove one of them");
                value = aliased;
            }
            return value;
        }

        public int? Int(JsonObject obj, string key, string prefix = "")
        {
            if (Number(obj, key, prefix) is not { } d)
                return null;
            if (d != Math.Floor(d) || d > int.MaxValue || d < int.MinValue)
                throw Error($"{prefix}{key} must be an integer, not {d.ToString(CultureInfo.InvariantCulture)}");
            return (int)d;
        }

        public double? Number(JsonObject obj, string key, string prefix = "")
        {
            if (!obj.TryGetPropertyValue(key, out JsonNode? node) || node is null)
                return null;
            if (node is JsonValue value && value.GetValueKind() == JsonValueKind.Number && value.TryGetValue(out double d))
                return d;
            throw Error($"{prefix}{key} must be a number, not {node.ToJsonString()}");
        }

        public bool? Bool(JsonObject obj, string key, string prefix = "")
        {
            if (!obj.TryGetPropertyValue(key, out JsonNode? node) || node is null)
                return null;
            return node.GetValueKind() switch
            {
                JsonValueKind.True => true,
                JsonValueKind.False => false,
                _ => throw Error($"{prefix}{key} must be true or false, not {node.ToJsonString()}"),
            };
        }

        public string? String(JsonObject obj, string key, string prefix = "")
        {
            if (!obj.TryGetPropertyValue(key, out JsonNode? node) || node is null)
                return null;
            if (node.GetValueKind() == JsonValueKind.String)
                return node.GetValue<string>();
            throw Error($"{prefix}{key} must be a string, not {node.ToJsonString()}");
        }

        public JsonObject? Object(JsonObject obj, string key, string prefix = "")
        {
            if (!obj.TryGetPropertyValue(key, out JsonNode? node) || node is null)
                return null;
            return node as JsonObject ?? throw Error($"{prefix}{key} must be an object, not {node.ToJsonString()}");
        }
    }
}
