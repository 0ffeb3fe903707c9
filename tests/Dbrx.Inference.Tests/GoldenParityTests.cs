using Dbrx.Inference.Modeling;
using Dbrx.Inference.Runtime;
using Dbrx.Inference.Tests.Support;
using static TorchSharp.torch;

namespace Dbrx.Inference.Tests;

/// <summary>The model against transformers' outputs on the golden checkpoint, float32, within 1e-4.</summary>
public sealed class GoldenParityTests : IDisposable
{
    private const double Tolerance = 1e-4;

    /// <summary>Row 1 of the golden batch starts with this many padding tokens; its real tokens follow.</summary>
    private const int Padding = 3;
    private const int Tokens = 11;

    private readonly Golden golden = new();

    public void Dispose() => golden.Dispose();

    [Theory]
    [InlineData(AttentionImplementation.Eager, ExpertDispatch.PerExpert)]
    [InlineData(AttentionImplementation.Sdpa, ExpertDispatch.PerExpert)]
    [InlineData(AttentionImplementation.Sdpa, ExpertDispatch.Grouped)]
    public void Logits_match_the_reference(AttentionImplementation attention, ExpertDispatch dispatch)
    {
        using var model = Golden.LoadModel(attention, dispatch);
        using var output = Run(model);
        using var expected = golden.Get("logits");
        AssertRealPositionsClose(expected, output.Logits, "logits");
    }

    [Fact]
    public void Hidden_states_match_the_reference()
    {
        using var model = Golden.LoadModel();
        using var output = Run(model, hiddenStates: true);
        Assert.Equal(model.Config.NLayers + 1, output.HiddenStates!.Count);
        for (int i = 0; i < output.HiddenStates.Count; i++)
        {
            using var expected = golden.Get($"hidden_states.{i}");
            AssertRealPositionsClose(expected, output.HiddenStates[i], $"hidden_states.{i}");
        }
        TensorAssert.Close(output.HiddenStates[^1], output.LastHiddenState, 0, "last hidden state is norm_f's output");
    }

    /// <summary>The reference's <c>inputs_embeds</c>: its own embedding output (hidden_states.0) in place of the ids gives its logits.</summary>
    [Fact]
    public void Input_embeddings_in_place_of_ids_give_the_reference_logits()
    {
        using var model = Golden.LoadModel();
        using var embeddings = golden.Get("hidden_states.0");
        using var mask = golden.Get("attention_mask");
        using var output = model.ForwardDiagnostics(new DbrxModelInput { InputEmbeddings = embeddings, AttentionMask = mask });
        using var expected = golden.Get("logits");
        AssertRealPositionsClose(expected, output.Logits, "logits from input embeddings");
    }

    [Fact]
    public void Loss_matches_the_reference()
    {
        using var model = Golden.LoadModel();
        using var labels = golden.Get("labels");
        using var output = Run(model, labels: labels);
        using var expected = golden.Get("loss");
        TensorAssert.Close(expected.reshape(1), output.Loss!.reshape(1), Tolerance, "loss");
        Assert.Null(output.AuxLoss);
    }

    [Theory]
    [InlineData(AttentionImplementation.Eager)]
    [InlineData(AttentionImplementation.Sdpa)]
    public void Incremental_decoding_with_the_cache_equals_a_full_forward(AttentionImplementation attention)
    {
        using var model = Golden.LoadModel(attention);
        using var ids = golden.Get("input_ids");
        using var row = ids.narrow(0, 0, 1);
        using var full = model.ForwardDiagnostics(new DbrxModelInput { InputIds = row });
        using var cache = model.CreateCache(rows: 1, capacity: 32);
        var pieces = new[] { (0, 5), (5, 1), (6, 3), (9, 1), (10, 1) };
        foreach (var (start, length) in pieces)
        {
            using var piece = row.narrow(1, start, length);
            using var step = model.ForwardDiagnostics(new DbrxModelInput { InputIds = piece, Cache = cache });
            using var expected = full.Logits.narrow(1, start, length);
            TensorAssert.Close(expected, step.Logits, Tolerance, $"logits of tokens {start}..{start + length - 1} from the cache");
        }
        Assert.Equal(Tokens, cache.Lengths[0]);
    }

    [Theory]
    [InlineData(AttentionImplementation.Eager)]
    [InlineData(AttentionImplementation.Sdpa)]
    public void A_left_padded_batch_equals_its_rows_run_alone(AttentionImplementation attention)
    {
        using var model = Golden.LoadModel(attention);
        using var ids = golden.Get("input_ids");
        using var mask = golden.Get("attention_mask");
        // Positions from the mask, as generation numbers them: padded rows start at 0 with their first real token.
        using var positions = (mask.cumsum(1, ScalarType.Int64) - 1).clamp_min(0);
        using var batch = model.ForwardDiagnostics(new DbrxModelInput { InputIds = ids, AttentionMask = mask, PositionIds = positions });
        for (int row = 0; row < 2; row++)
        {
            int start = row == 1 ? Padding : 0;
            using var alone = ids[row].narrow(0, start, Tokens - start).unsqueeze(0);
            using var single = model.ForwardDiagnostics(new DbrxModelInput { InputIds = alone });
            using var fromBatch = batch.Logits[row].narrow(0, start, Tokens - start).unsqueeze(0);
            TensorAssert.Close(single.Logits, fromBatch, Tolerance, $"row {row} in the padded batch vs alone");
        }
    }

    [Fact]
    public void Greedy_generation_with_the_cache_reproduces_the_reference()
    {
        using var model = Golden.LoadModel(AttentionImplementation.Sdpa);
        using var prompt = golden.Get("gen_prompt");
        using var expected = golden.Get("gen_output");
        var tokens = prompt.ToLongArray().ToList();
        using var cache = model.CreateCache(rows: 1, capacity: 64);
        var next = prompt.alias();
        while (tokens.Count < expected.shape[1])
        {
            using var step = model.ForwardDiagnostics(new DbrxModelInput { InputIds = next, Cache = cache, NumLogitsToKeep = 1 });
            long token = step.Logits[0, -1].argmax().item<long>();
            tokens.Add(token);
            next.Dispose();
            next = tensor(new[] { token }, [1, 1], ScalarType.Int64);
        }
        next.Dispose();
        Assert.Equal(expected.ToLongArray(), tokens);
    }

    /// <summary>
    /// The first 6 positions of a prefilled row copied into another row: the rest of the sequence continued there gives
    /// the reference's logits, and the source row is left as it was.
    /// </summary>
    [Fact]
    public void A_copied_cache_prefix_continues_with_the_reference_logits()
    {
        using var model = Golden.LoadModel(AttentionImplementation.Sdpa);
        using var ids = golden.Get("input_ids");
        using var reference = golden.Get("logits");
        using var row = ids.narrow(0, 0, 1);
        using var cache = model.CreateCache(rows: 2, capacity: 32);
        using var source = cache.Slice(0, 1);
        using var target = cache.Slice(1, 1);
        model.ForwardDiagnostics(new DbrxModelInput { InputIds = row, Cache = source }).Dispose();

        cache.CopyPrefix(0, 1, 6);
        Assert.Equal([Tokens, 6L], cache.Lengths);
        using var rest = row.narrow(1, 6, Tokens - 6);
        using var continued = model.ForwardDiagnostics(new DbrxModelInput { InputIds = rest, Cache = target });
        using var expected = reference.narrow(0, 0, 1).narrow(1, 6, Tokens - 6);
        TensorAssert.Close(expected, continued.Logits, Tolerance, "logits continued from a copied prefix");
        Assert.Equal([Tokens, Tokens], cache.Lengths);
        Assert.Throws<ArgumentOutOfRangeException>(() => cache.CopyPrefix(0, 1, Tokens + 1));
    }

    [Fact]
    public void Logits_of_the_last_positions_only_equal_the_full_logits_there()
    {
        using var model = Golden.LoadModel();
        using var full = Run(model);
        using var ids = golden.Get("input_ids");
        using var mask = golden.Get("attention_mask");
        using var last = model.ForwardDiagnostics(new DbrxModelInput { InputIds = ids, AttentionMask = mask, NumLogitsToKeep = 2 });
        Assert.Equal(new long[] { 2, 2, 512 }, last.Logits.shape);
        TensorAssert.Close(full.Logits.narrow(1, Tokens - 2, 2), last.Logits, 1e-5, "last two positions");
    }

    [Fact]
    public void Attention_weights_and_router_outputs_have_the_reference_shapes()
    {
        using var model = Golden.LoadModel(AttentionImplementation.Sdpa);
        using var ids = golden.Get("input_ids");
        using var mask = golden.Get("attention_mask");
        using var output = model.ForwardDiagnostics(new DbrxModelInput { InputIds = ids, AttentionMask = mask, OutputAttentions = true, OutputRouterLogits = true });
        Assert.Equal(2, output.Attentions!.Count);
        Assert.Equal(new long[] { 2, 4, Tokens, Tokens }, output.Attentions[0].shape);
        // Each real query's attention is a distribution over the keys it may see.
        using var sums = output.Attentions[0][0].sum(-1);
        TensorAssert.Close(ones_like(sums), sums, 1e-5, "attention rows sum to 1");
        Assert.Equal(2, output.RouterLogits!.Count);
        Assert.Equal(new long[] { 2 * Tokens, 16 }, output.RouterLogits[0].shape);
        using var routerSums = output.RouterLogits[0].sum(-1);
        TensorAssert.Close(ones_like(routerSums), routerSums, 1e-5, "router probabilities sum to 1");
        Assert.NotNull(output.AuxLoss);
    }

    private DbrxCausalLMOutput Run(DbrxForCausalLM model, bool hiddenStates = false, Tensor? labels = null)
    {
        using var ids = golden.Get("input_ids");
        using var mask = golden.Get("attention_mask");
        return model.ForwardDiagnostics(new DbrxModelInput { InputIds = ids, AttentionMask = mask, OutputHiddenStates = hiddenStates, Labels = labels });
    }

    /// <summary>What a padded query row produces depends on the attention backend, so row 1 is compared at its real tokens only.</summary>
    private static void AssertRealPositionsClose(Tensor expected, Tensor actual, string what)
    {
        TensorAssert.Close(expected[0], actual[0], Tolerance, $"{what}, row 0");
        TensorAssert.Close(expected[1].narrow(0, Padding, Tokens - Padding), actual[1].narrow(0, Padding, Tokens - Padding), Tolerance, $"{what}, row 1 at real positions");
    }
}
