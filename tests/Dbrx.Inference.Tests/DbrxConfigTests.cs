using Dbrx.Inference.Configuration;
using Dbrx.Inference.Modeling;
using Dbrx.Inference.Tests.Support;

namespace Dbrx.Inference.Tests;

public sealed class DbrxConfigTests
{
    /// <summary>dbrx-instruct's config.json as databricks ships it.</summary>
    private const string InstructJson = """
        {
          "architectures": ["DbrxForCausalLM"],
          "attn_config": {"clip_qkv": 8, "kv_n_heads": 8, "model_type": "", "rope_theta": 500000},
          "auto_map": {"AutoConfig": "configuration_dbrx.DbrxConfig", "AutoModelForCausalLM": "modeling_dbrx.DbrxForCausalLM"},
          "d_model": 6144,
          "emb_pdrop": 0.0,
          "ffn_config": {"ffn_hidden_size": 10752, "model_type": "", "moe_jitter_eps": 0, "moe_loss_weight": 0.05, "moe_num_experts": 16, "moe_top_k": 4},
          "initializer_range": 0.02,
          "max_seq_len": 32768,
          "model_type": "dbrx",
          "n_heads": 48,
          "n_layers": 40,
          "output_router_logits": false,
          "resid_pdrop": 0.0,
          "router_aux_loss_coef": 0.05,
          "tie_word_embeddings": false,
          "torch_dtype": "bfloat16",
          "transformers_version": "4.38.2",
          "use_cache": true,
          "vocab_size": 100352
        }
        """;

    [Fact]
    public void Parses_dbrx_instruct_as_shipped_with_defaults_for_absent_keys()
    {
        DbrxConfig config = DbrxConfigJson.Parse(InstructJson);
        Assert.Equal(DbrxPresets.DbrxInstruct, config);
        Assert.Equal("silu", config.Ffn.ActivationName);
        Assert.Equal(1.0, config.Ffn.MoeNormalizeExpertWeights);
        Assert.Equal(0.0, config.Attention.AttnPdrop);
        Assert.Equal(128, config.HeadDim);
        Assert.Equal(6, config.KvGroups);
    }

    [Fact]
    public void Parameter_counts_of_dbrx_instruct_match_the_model_card()
    {
        DbrxConfig config = DbrxPresets.DbrxInstruct;
        Assert.InRange(config.ParameterCount / 1e9, 131.5, 131.7);
        Assert.InRange(config.ActiveParameterCount / 1e9, 36.0, 36.6);
    }

    [Fact]
    public void Reads_the_golden_config()
    {
        DbrxConfig config = DbrxConfigJson.Load(TestData.GoldenModel);
        Assert.Equal((64, 4, 2, 2, 512), (config.DModel, config.NHeads, config.Attention.KvNHeads, config.NLayers, config.VocabSize));
        Assert.Equal(0.6, config.Attention.ClipQkv);
        Assert.Equal(48, config.Ffn.FfnHiddenSize);
    }

    [Fact]
    public void Empty_object_gives_the_reference_class_defaults()
    {
        DbrxConfig config = DbrxConfigJson.Parse("{}");
        // transformers' DbrxConfig, DbrxAttentionConfig and DbrxFFNConfig defaults, every field.
        var reference = new DbrxConfig
        {
            DModel = 2048,
            NHeads = 16,
            NLayers = 24,
            MaxSeqLen = 2048,
            VocabSize = 32000,
            ResidPdrop = 0,
            EmbPdrop = 0,
            InitializerRange = 0.02,
            OutputRouterLogits = false,
            UseCache = true,
            TorchDtype = null,
            Attention = new() { AttnPdrop = 0, ClipQkv = null, KvNHeads = 1, RopeTheta = 10000.0 },
            Ffn = new() { ActivationName = "silu", FfnHiddenSize = 3584, MoeNumExperts = 4, MoeTopK = 1, MoeJitterEps = null, MoeLossWeight = 0.01, MoeNormalizeExpertWeights = 1.0 },
        };
        Assert.Equal(reference, config);
    }

    [Fact]
    public void Attn_config_rope_theta_wins_over_the_transformers_5_rope_parameters()
    {
        string json = InstructJson.Replace("\"d_model\": 6144,", "\"d_model\": 6144, \"rope_parameters\": {\"rope_theta\": 10000.0, \"rope_type\": \"default\"},");
        Assert.Equal(500000, DbrxConfigJson.Parse(json).Attention.RopeTheta);
    }

    [Fact]
    public void Rope_parameters_apply_when_attn_config_has_no_rope_theta()
    {
        string json = """{"attn_config": {"kv_n_heads": 1}, "rope_parameters": {"rope_theta": 123.0}}""";
        Assert.Equal(123.0, DbrxConfigJson.Parse(json).Attention.RopeTheta);
    }

    [Fact]
    public void Attribute_map_aliases_are_accepted()
    {
        DbrxConfig config = DbrxConfigJson.Parse("""{"hidden_size": 64, "num_attention_heads": 4, "num_hidden_layers": 3, "max_position_embeddings": 99}""");
        Assert.Equal((64, 4, 3, 99), (config.DModel, config.NHeads, config.NLayers, config.MaxSeqLen));
    }

    [Fact]
    public void Unknown_keys_are_tolerated_everywhere()
    {
        string json = """{"d_model": 64, "n_heads": 4, "new_feature": [1, 2], "attn_config": {"kv_n_heads": 2, "future": true}, "ffn_config": {"hidden_size": 64, "uniform_expert_assignment": false, "ffn_act_fn": {"name": "gelu", "approximate": "none"}}}""";
        DbrxConfig config = DbrxConfigJson.Parse(json);
        Assert.Equal("gelu", config.Ffn.ActivationName);
        Assert.Equal(2, config.Attention.KvNHeads);
    }

    [Fact]
    public void Null_normalisation_and_null_clip_mean_none()
    {
        DbrxConfig config = DbrxConfigJson.Parse("""{"attn_config": {"clip_qkv": null}, "ffn_config": {"moe_normalize_expert_weights": null}}""");
        Assert.Null(config.Attention.ClipQkv);
        Assert.Null(config.Ffn.MoeNormalizeExpertWeights);
    }

    [Fact]
    public void Writes_json_that_reads_back_to_the_same_config()
    {
        var config = DbrxPresets.Tiny with { Attention = DbrxPresets.Tiny.Attention with { ClipQkv = null }, Ffn = DbrxPresets.Tiny.Ffn with { MoeNormalizeExpertWeights = 2.0, ActivationName = "gelu" } };
        Assert.Equal(config, DbrxConfigJson.Parse(DbrxConfigJson.ToJson(config)));
    }

    [Theory]
    [InlineData("""{"model_type": "llama"}""", "model_type is 'llama', expected 'dbrx'")]
    [InlineData("""{"tie_word_embeddings": true}""", "tie_word_embeddings is true")]
    [InlineData("""{"d_model": 100, "n_heads": 16}""", "d_model (100) must be divisible by n_heads (16)")]
    [InlineData("""{"n_heads": 16, "attn_config": {"kv_n_heads": 3}}""", "n_heads (16) must be divisible by attn_config.kv_n_heads (3)")]
    [InlineData("""{"ffn_config": {"moe_num_experts": 4, "moe_top_k": 5}}""", "ffn_config.moe_top_k (5) cannot exceed ffn_config.moe_num_experts (4)")]
    [InlineData("""{"ffn_config": {"ffn_act_fn": {"name": "swiglu9"}}}""", "ffn_config.ffn_act_fn.name 'swiglu9' is not a known activation")]
    [InlineData("""{"d_model": 0}""", "d_model must be positive, not 0")]
    [InlineData("""{"n_layers": -2}""", "n_layers must be positive, not -2")]
    [InlineData("""{"vocab_size": 0}""", "vocab_size must be positive, not 0")]
    [InlineData("""{"ffn_config": {"ffn_hidden_size": 0}}""", "ffn_config.ffn_hidden_size must be positive, not 0")]
    [InlineData("""{"attn_config": {"kv_n_heads": 0}}""", "attn_config.kv_n_heads must be positive, not 0")]
    [InlineData("""{"d_model": "64"}""", "d_model must be a number, not \"64\"")]
    [InlineData("""{"d_model": 64.5}""", "d_model must be an integer, not 64.5")]
    [InlineData("""{"attn_config": 5}""", "attn_config must be an object, not 5")]
    [InlineData("""{"attn_config": {"clip_qkv": -1}}""", "attn_config.clip_qkv must be positive or null, not -1")]
    [InlineData("""{"attn_config": {"rope_theta": 0}}""", "attn_config.rope_theta must be a positive number, not 0")]
    [InlineData("""{"d_model": 64, "hidden_size": 32}""", "d_model is 64 but its alias hidden_size is 32")]
    [InlineData("""{"d_model": 12, "n_heads": 4}""", "the head size d_model / n_heads = 3 must be even")]
    [InlineData("""{"rope_parameters": {"rope_type": "yarn", "rope_theta": 5.0}}""", "rope_parameters.rope_type 'yarn' is not supported")]
    [InlineData("""[1, 2]""", "must be a JSON object")]
    [InlineData("""{"d_model": 64,""", "is not valid JSON")]
    public void Rejects_unusable_configs_with_a_message_naming_the_key(string json, string message)
    {
        var error = Assert.Throws<DbrxConfigException>(() => DbrxConfigJson.Parse(json, "test.json"));
        Assert.Contains(message, error.Message);
        Assert.StartsWith("DBRX config test.json: ", error.Message);
    }

    [Fact]
    public void Missing_config_file_names_the_folder()
    {
        using var dir = new TempDirectory();
        var error = Assert.Throws<DbrxConfigException>(() => DbrxConfigJson.Load(dir.Path));
        Assert.Contains($"No config.json in model folder '{dir.Path}'", error.Message);
    }

    [Fact]
    public void Presets_are_valid_and_named()
    {
        foreach (string name in DbrxPresets.Names)
            DbrxPresets.Get(name).Validate(name);
        Assert.Equal(100352, DbrxPresets.Tiny.VocabSize);
        var error = Assert.Throws<ArgumentException>(() => DbrxPresets.Get("huge"));
        Assert.Contains("Unknown preset 'huge'", error.Message);
    }

    /// <summary>A config is validated against the names alone (no libtorch needed); the model implements each of them.</summary>
    [Fact]
    public void Every_activation_a_config_may_name_is_implemented()
    {
        Assert.Equal(DbrxActivationNames.All.Order(StringComparer.Ordinal), DbrxActivation.Names.Order(StringComparer.Ordinal));
    }
}
