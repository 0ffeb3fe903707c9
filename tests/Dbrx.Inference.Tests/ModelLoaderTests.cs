using Dbrx.Inference.Checkpoints;
using Dbrx.Inference.Configuration;
using Dbrx.Inference.Loading;
using Dbrx.Inference.Modeling;
using Dbrx.Inference.Runtime;
using Dbrx.Inference.Tests.Support;
using static TorchSharp.torch;

namespace Dbrx.Inference.Tests;

public sealed class ModelLoaderTests : IDisposable
{
    private static readonly DbrxConfig Config = DbrxPresets.Tiny with { VocabSize = 300, NLayers = 2 };
    private readonly TempDirectory dir = new();

    public void Dispose() => dir.Dispose();

    private static DbrxLoadOptions Cpu(string dtype = "float32") => new() { Device = "cpu", DType = DbrxDTypes.Parse(dtype) };

    [Theory]
    [InlineData("float32", long.MaxValue)]
    [InlineData("bfloat16", long.MaxValue)]
    [InlineData("float32", 200_000)]
    public void A_written_random_checkpoint_loads_back_to_the_same_tensors(string dtype, long shardBytes)
    {
        ScalarType scalar = DbrxDTypes.Resolve(DbrxDTypes.Parse(dtype), CPU);
        DbrxRandomCheckpoint.Write(Config, dir.Path, seed: 42, scalar, shardBytes);
        using var model = DbrxModelLoader.Load(dir.Path, Cpu(dtype));
        using var expected = new DbrxForCausalLM(model.Config, scalar, CPU);
        using (var initializer = new DbrxInitializer(model.Config, seed: 42))
            initializer.Fill(expected);
        var loaded = model.named_parameters().ToDictionary(p => p.name, p => p.parameter);
        foreach (var (name, parameter) in expected.named_parameters())
            TensorAssert.Identical(parameter, loaded[name], name);
        Assert.Equal(shardBytes != long.MaxValue, File.Exists(Path.Combine(dir.Path, SafetensorsCheckpoint.IndexFileName)));
    }

    [Fact]
    public void The_same_seed_gives_the_same_weights_and_another_seed_others()
    {
        using var a = new DbrxForCausalLM(Config, ScalarType.Float32, CPU);
        using var b = new DbrxForCausalLM(Config, ScalarType.Float32, CPU);
        using var c = new DbrxForCausalLM(Config, ScalarType.Float32, CPU);
        using (var i = new DbrxInitializer(Config, 1)) i.Fill(a);
        using (var i = new DbrxInitializer(Config, 1)) i.Fill(b);
        using (var i = new DbrxInitializer(Config, 2)) i.Fill(c);
        var pa = a.named_parameters().First(p => p.name.EndsWith("w1")).parameter;
        TensorAssert.Identical(pa, b.named_parameters().First(p => p.name.EndsWith("w1")).parameter, "same seed");
        Assert.False(pa.allclose(c.named_parameters().First(p => p.name.EndsWith("w1")).parameter));
        // The reference's initialisation: N(0, initializer_range) for weights, ones for norms.
        Assert.InRange(pa.std().item<float>(), 0.019, 0.021);
        Assert.Equal(1f, a.named_parameters().First(p => p.name.EndsWith("norm_f.weight")).parameter.min().item<float>());
    }

    [Fact]
    public void Missing_tensor_is_named_with_its_shape()
    {
        WriteWithout("transformer.blocks.1.ffn.experts.mlp.v1");
        var error = Assert.Throws<CheckpointException>(() => DbrxModelLoader.Load(dir.Path, Cpu()));
        Assert.Contains("missing tensor 'transformer.blocks.1.ffn.experts.mlp.v1' [2048, 64]", error.Message);
    }

    [Fact]
    public void Unexpected_tensor_is_named_with_its_file_unless_loading_is_not_strict()
    {
        WriteWith(("transformer.blocks.0.extra.bias", new long[] { 3 }));
        var error = Assert.Throws<CheckpointException>(() => DbrxModelLoader.Load(dir.Path, Cpu()));
        Assert.Contains("unexpected tensor 'transformer.blocks.0.extra.bias' in model.safetensors", error.Message);
        using var model = DbrxModelLoader.Load(dir.Path, Cpu() with { Strict = false });
        Assert.Equal(Config.NLayers, model.Config.NLayers);
    }

    [Fact]
    public void Wrong_shape_is_named_with_both_shapes_and_the_file()
    {
        DbrxRandomCheckpoint.Write(Config, dir.Path, 1, ScalarType.Float32);
        File.WriteAllText(Path.Combine(dir.Path, "config.json"), DbrxConfigJson.ToJson(Config with { DModel = 128, NHeads = 8 }));
        var error = Assert.Throws<CheckpointException>(() => DbrxModelLoader.Load(dir.Path, Cpu()));
        Assert.Contains("tensor 'transformer.wte.weight' in model.safetensors has shape [300, 64], the model expects [300, 128]", error.Message);
    }

    [Fact]
    public void Experts_in_the_three_dimensional_layout_load_too()
    {
        var layout = DbrxTensorLayout.For(Config);
        using var source = new DbrxForCausalLM(Config, ScalarType.Float32, CPU);
        using (var i = new DbrxInitializer(Config, 3)) i.Fill(source);
        var parameters = source.named_parameters().ToDictionary(p => p.name, p => p.parameter);
        var shapes = layout.Select(s => (s.Name, SafetensorsDType.F32, s.Name.Contains(".mlp.") ? new long[] { 16, 128, 64 } : s.Shape)).ToList();
        File.WriteAllText(Path.Combine(dir.Path, "config.json"), DbrxConfigJson.ToJson(Config));
        using (var writer = new SafetensorsCheckpointWriter(dir.Path, shapes))
        {
            foreach (var (name, _, shape) in shapes)
                writer.WriteTensor(parameters[name].view(shape));
            writer.Complete();
        }
        using var loaded = DbrxModelLoader.Load(dir.Path, Cpu());
        var w2 = loaded.named_parameters().First(p => p.name == "transformer.blocks.1.ffn.experts.mlp.w2").parameter;
        TensorAssert.Identical(parameters["transformer.blocks.1.ffn.experts.mlp.w2"], w2, "w2 from [E, I, d]");
    }

    [Fact]
    public void Unknown_device_and_dtype_are_rejected_before_loading()
    {
        DbrxRandomCheckpoint.Write(Config, dir.Path, 1, ScalarType.Float32);
        Assert.Contains("Unknown device 'tpu'", Assert.Throws<ArgumentException>(() => DbrxModelLoader.Load(dir.Path, new DbrxLoadOptions { Device = "tpu" })).Message);
        Assert.Contains("Unknown dtype 'int3'", Assert.Throws<ArgumentException>(() => DbrxModelLoader.Load(dir.Path, Cpu("int3"))).Message);
        Assert.Contains("flash_attention_2 needs every block on a CUDA device", Assert.Throws<ArgumentException>(() =>
            DbrxModelLoader.Load(dir.Path, Cpu() with { AttentionImplementation = AttentionImplementation.FlashAttention2 })).Message);
        Assert.Contains("PlanCacheRows", Assert.Throws<ArgumentOutOfRangeException>(() => DbrxModelLoader.Load(dir.Path, Cpu() with { PlanCacheRows = -1 })).Message);
    }

    /// <summary>The up-front memory check counts the KV cache the caller plans for, so a cache that cannot fit is refused before loading.</summary>
    [Fact]
    public void A_kv_cache_that_cannot_fit_is_refused_before_loading_with_the_numbers()
    {
        DbrxRandomCheckpoint.Write(Config, dir.Path, 1, ScalarType.Float32);
        var error = Assert.Throws<InvalidOperationException>(() => DbrxModelLoader.Load(dir.Path, Cpu() with { PlanCacheRows = 100_000_000, PlanCacheTokens = Config.MaxSeqLen }));
        Assert.Matches(@"The model does not fit: cpu would hold [\d.]+ GiB .* but has [\d.]+ GiB free", error.Message);
        // A batch so large its bytes overflow a long is refused the same way, not wrapped round to a small number.
        error = Assert.Throws<InvalidOperationException>(() => DbrxModelLoader.Load(dir.Path, Cpu() with { PlanCacheRows = int.MaxValue, PlanCacheTokens = Config.MaxSeqLen }));
        Assert.Contains("The model does not fit", error.Message);
        var beyond = Assert.Throws<ArgumentException>(() => DbrxModelLoader.Plan(dir.Path, Cpu() with { PlanCacheTokens = Config.MaxSeqLen + 1 }));
        Assert.Contains($"beyond the model's max_seq_len of {Config.MaxSeqLen}", beyond.Message);
        using var model = DbrxModelLoader.Load(dir.Path, Cpu() with { PlanCacheRows = 1, PlanCacheTokens = 64 });
        Assert.Equal(Config.NLayers, model.Config.NLayers);
    }

    [Fact]
    public void Bad_inputs_are_rejected_with_clear_messages_and_the_model_stays_usable()
    {
        DbrxRandomCheckpoint.Write(Config, dir.Path, 1, ScalarType.Float32);
        using var model = DbrxModelLoader.Load(dir.Path, Cpu());
        using var outOfVocab = tensor(new long[] { 1, 300 }, [1, 2], ScalarType.Int64);
        Assert.Contains("Token id 300 is outside the model's vocabulary of 300 ids", Assert.Throws<ArgumentException>(() => model.ForwardDiagnostics(new DbrxModelInput { InputIds = outOfVocab })).Message);
        using var flat = tensor(new long[] { 1, 2 });
        Assert.Contains("InputIds must be [batch, tokens], not [2]", Assert.Throws<ArgumentException>(() => model.ForwardDiagnostics(new DbrxModelInput { InputIds = flat })).Message);
        using var ids = tensor(new long[] { 1, 2, 3 }, [1, 3], ScalarType.Int64);
        using var shortMask = ones(1, 2, ScalarType.Int64);
        Assert.Contains("AttentionMask must be [1, 3], not [1, 2]", Assert.Throws<ArgumentException>(() => model.ForwardDiagnostics(new DbrxModelInput { InputIds = ids, AttentionMask = shortMask })).Message);
        using var cache = model.CreateCache(1, 4);
        using (model.ForwardDiagnostics(new DbrxModelInput { InputIds = ids, Cache = cache })) { }
        Assert.Contains("KV cache row 0: 3 tokens from position 3 would exceed its capacity of 4", Assert.Throws<InvalidOperationException>(() => model.ForwardDiagnostics(new DbrxModelInput { InputIds = ids, Cache = cache })).Message);
        using var ok = model.ForwardDiagnostics(new DbrxModelInput { InputIds = ids });
        Assert.Equal(new long[] { 1, 3, 300 }, ok.Logits.shape);
    }

    private void WriteWithout(string skipped) => WriteLayout(DbrxTensorLayout.For(Config).Where(s => s.Name != skipped).Select(s => (s.Name, s.Shape)));

    private void WriteWith((string Name, long[] Shape) extra) => WriteLayout(DbrxTensorLayout.For(Config).Select(s => (s.Name, s.Shape)).Append(extra));

    private void WriteLayout(IEnumerable<(string Name, long[] Shape)> tensors)
    {
        File.WriteAllText(Path.Combine(dir.Path, "config.json"), DbrxConfigJson.ToJson(Config));
        var list = tensors.Select(t => (t.Name, SafetensorsDType.F32, t.Shape)).ToList();
        using var writer = new SafetensorsCheckpointWriter(dir.Path, list);
        foreach (var (_, _, shape) in list)
        {
            using var value = zeros(shape);
            writer.WriteTensor(value);
        }
        writer.Complete();
    }
}
