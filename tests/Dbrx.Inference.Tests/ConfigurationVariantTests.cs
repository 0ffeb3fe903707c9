using Dbrx.Inference.Checkpoints;
using Dbrx.Inference.Configuration;
using Dbrx.Inference.Loading;
using Dbrx.Inference.Modeling;
using Dbrx.Inference.Runtime;
using Dbrx.Inference.Tests.Support;
using static TorchSharp.torch;

namespace Dbrx.Inference.Tests;

/// <summary>
/// Every shape the config allows runs and agrees with a plain float64 re-implementation: multi-query attention,
/// other expert counts and top-k, other norms p or none, no clamp, other rope bases and activations.
/// </summary>
public sealed class ConfigurationVariantTests
{
    private static readonly DbrxConfig Small = new()
    {
        DModel = 32,
        NHeads = 4,
        NLayers = 2,
        MaxSeqLen = 64,
        VocabSize = 97,
        InitializerRange = 0.2,
        Attention = new DbrxAttentionConfig { KvNHeads = 2, ClipQkv = 0.5, RopeTheta = 10000 },
        Ffn = new DbrxFfnConfig { FfnHiddenSize = 24, MoeNumExperts = 8, MoeTopK = 2, MoeNormalizeExpertWeights = 1.0 },
    };

    public static TheoryData<string> Variants => ["gqa", "mqa", "mha", "top1", "top-all", "p2", "no-norm", "no-clip", "rope-500k", "gelu", "many-experts"];

    private static DbrxConfig Variant(string name) => name switch
    {
        "gqa" => Small,
        "mqa" => Small with { Attention = Small.Attention with { KvNHeads = 1 } },
        "mha" => Small with { Attention = Small.Attention with { KvNHeads = 4 } },
        "top1" => Small with { Ffn = Small.Ffn with { MoeTopK = 1 } },
        "top-all" => Small with { Ffn = Small.Ffn with { MoeTopK = 8 } },
        "p2" => Small with { Ffn = Small.Ffn with { MoeNormalizeExpertWeights = 2.0 } },
        "no-norm" => Small with { Ffn = Small.Ffn with { MoeNormalizeExpertWeights = null } },
        "no-clip" => Small with { Attention = Small.Attention with { ClipQkv = null } },
        "rope-500k" => Small with { Attention = Small.Attention with { RopeTheta = 500000 } },
        "gelu" => Small with { Ffn = Small.Ffn with { ActivationName = "gelu" } },
        "many-experts" => Small with { Ffn = Small.Ffn with { MoeNumExperts = 16, MoeTopK = 4 } },
        _ => throw new ArgumentException(name),
    };

    [Theory]
    [MemberData(nameof(Variants))]
    public void Engine_agrees_with_a_plain_float64_forward(string variant)
    {
        DbrxConfig config = Variant(variant);
        using var dir = new TempDirectory();
        DbrxRandomCheckpoint.Write(config, dir.Path, seed: 7, ScalarType.Float32);
        long[] ids = [5, 17, 3, 96, 0, 42, 42, 8, 61];
        using var checkpoint = SafetensorsCheckpoint.Open(dir.Path);
        using var expected = NaiveDbrx.Logits(config, checkpoint, ids);
        var setups = new[] { (AttentionImplementation.Eager, ExpertDispatch.PerExpert), (AttentionImplementation.Sdpa, ExpertDispatch.PerExpert), (AttentionImplementation.Sdpa, ExpertDispatch.Grouped) };
        foreach (var (attention, dispatch) in setups)
        {
            using var model = DbrxModelLoader.Load(dir.Path, new DbrxLoadOptions { Device = "cpu", DType = DbrxDType.Float32, AttentionImplementation = attention, ExpertDispatch = dispatch });
            using var input = tensor(ids, [1, ids.Length], ScalarType.Int64);
            using var output = model.ForwardDiagnostics(new DbrxModelInput { InputIds = input });
            TensorAssert.Close(expected, output.Logits, 1e-4, $"{variant} ({attention.ToName()}, {dispatch})");

            // The same tokens one at a time through the cache, by the generation path: explicit positions, lengths
            // committed by the caller.
            using var cache = model.CreateCache(1, 16);
            for (int t = 0; t < ids.Length; t++)
            {
                using var one = tensor(new[] { ids[t] }, [1, 1], ScalarType.Int64);
                using var step = model.Forward(one, [t], cache);
                cache.SetLength(0, t + 1);
                using var row = expected.narrow(1, t, 1);
                TensorAssert.Close(row, step, 1e-4, $"{variant} ({attention.ToName()}, {dispatch}) decode step {t}");
            }
        }
    }
}
