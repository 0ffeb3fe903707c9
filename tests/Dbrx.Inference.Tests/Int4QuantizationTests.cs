using Dbrx.Inference.Checkpoints;
using Dbrx.Inference.Configuration;
using Dbrx.Inference.Loading;
using Dbrx.Inference.Modeling;
using Dbrx.Inference.Quantization;
using Dbrx.Inference.Runtime;
using Dbrx.Inference.Tests.Support;
using TorchSharp;
using static TorchSharp.torch;

namespace Dbrx.Inference.Tests;

/// <summary>Int4 weights on the CPU, through libtorch's CPU int4 kernel.</summary>
public sealed class Int4QuantizationTests
{
    private static readonly DbrxConfig Config = DbrxPresets.Tiny with { VocabSize = 1024, NLayers = 2 };

    [Fact]
    public void Dequantized_weights_are_within_half_a_step_and_the_scale_rounding_of_the_originals()
    {
        using var weight = randn(48, 256) * 0.05;
        using var quantized = Int4Weights.Quantize(weight, groupSize: 64);
        Assert.Equal(new long[] { 48, 128 }, quantized.Pairs.shape);
        Assert.Equal(new long[] { 48, 4 }, quantized.Scales.shape);
        using var values = quantized.Values();
        Assert.InRange(values.min().item<int>(), 0, 15);
        Assert.InRange(values.max().item<int>(), 0, 15);
        using var restored = quantized.Dequantize();
        using var error = (restored - weight).abs().view(48, 4, 64);
        // Half a step, plus what bfloat16 rounding of the scale and zero can shift across a group's 15 steps.
        using var bound = quantized.Scales.unsqueeze(-1) * 0.6 + 1e-6;
        Assert.True(error.le(bound).all().item<bool>(), $"max error {error.max().item<float>()}");
        // Each group's extremes are exact up to float rounding (they define the scale).
        Assert.True(error.max().item<float>() > 0);
    }

    [Fact]
    public void The_int4_linear_layer_computes_with_the_dequantized_weight()
    {
        using var weight = randn(96, 128) * 0.1;
        using var layer = new Int4Linear(groupSize: 32, ScalarType.Float32, CPU);
        layer.LoadFloat(weight);
        using var x = randn(2, 5, 128);
        using var y = layer.forward(x);
        using var quantized = Int4Weights.Quantize(weight, 32);
        using var expected = x.matmul(quantized.Dequantize().t());
        Assert.Equal(new long[] { 2, 5, 96 }, y.shape);
        TensorAssert.Close(expected, y, 1e-4, "int4 linear vs dequantized matmul");
    }

    /// <summary>
    /// The whole int4 path (packing, kernels, expert dispatch, w2's orientation) against a float model holding the
    /// dequantized weights: they must agree to float rounding.
    /// </summary>
    [Fact]
    public void An_int4_model_equals_a_float_model_of_its_dequantized_weights()
    {
        using var dir = new TempDirectory();
        DbrxRandomCheckpoint.Write(Config with { InitializerRange = 0.2 }, dir.Path, seed: 4, ScalarType.BFloat16);
        var quantization = DbrxQuantization.WithModules("experts,attention,lm_head", groupSize: 32);
        using var int4 = DbrxModelLoader.Load(dir.Path, new DbrxLoadOptions { Device = "cpu", DType = DbrxDType.Int4, Int4 = DbrxQuantization.WithModules("experts,attention,lm_head", 32) });
        using var dequantized = DbrxModelLoader.Load(dir.Path, new DbrxLoadOptions { Device = "cpu", DType = DbrxDType.Float32 });
        var parameters = dequantized.named_parameters().ToDictionary(p => p.name, p => p.parameter);
        using (no_grad())
        {
            var config = dequantized.Config;
            foreach (var (name, parameter) in parameters.Where(p => quantization.Quantizes(p.Key)))
            {
                bool expert = name.Contains(".mlp.", StringComparison.Ordinal);
                bool w2 = name.EndsWith(".w2", StringComparison.Ordinal);
                using var quantized = expert
                    ? Int4ExpertWeights.QuantizeStored(parameter, config.Ffn.MoeNumExperts, config.Ffn.FfnHiddenSize, config.DModel, w2, 32, CPU)
                    : Int4Weights.Quantize(parameter, 32);
                using var restored = quantized.Dequantize();
                using var stored = w2 ? restored.view(config.Ffn.MoeNumExperts, config.DModel, config.Ffn.FfnHiddenSize).transpose(1, 2).reshape(parameter.shape) : restored.view(parameter.shape);
                parameter.copy_(stored);
            }
        }
        using var ids = tensor(Enumerable.Range(0, 24).Select(i => (long)(i * 37 % 1024)).ToArray(), [1, 24], ScalarType.Int64);
        using var a = dequantized.ForwardDiagnostics(new DbrxModelInput { InputIds = ids });
        using var b = int4.ForwardDiagnostics(new DbrxModelInput { InputIds = ids });
        TensorAssert.Close(a.Logits, b.Logits, 1e-3, "int4 model vs float model of its dequantized weights");
    }

    /// <summary>
    /// Quality against the unquantized model on a dbrx init checkpoint (experts in int4, group 64), reported as the
    /// cosine similarity of the logits and top-1 agreement, the figures the GPU check reports for real models.
    /// </summary>
    [Fact]
    public void Int4_experts_keep_the_logits_close_to_the_float_model()
    {
        using var dir = new TempDirectory();
        DbrxRandomCheckpoint.Write(DbrxPresets.Tiny, dir.Path, seed: 6, ScalarType.BFloat16);
        using var full = DbrxModelLoader.Load(dir.Path, new DbrxLoadOptions { Device = "cpu", DType = DbrxDType.Float32 });
        using var int4 = DbrxModelLoader.Load(dir.Path, new DbrxLoadOptions { Device = "cpu", DType = DbrxDType.Int4, Int4 = DbrxQuantization.WithModules("experts", 64) });
        long[] text = Tokenization.DbrxTokenizer.Default.Encode("The quick brown fox jumps over the lazy dog, then rests a while.").Select(i => (long)i).ToArray();
        using var ids = tensor(text, [1, text.Length], ScalarType.Int64);
        using var a = full.ForwardDiagnostics(new DbrxModelInput { InputIds = ids });
        using var b = int4.ForwardDiagnostics(new DbrxModelInput { InputIds = ids });
        var (cosine, agreement) = Compare(a.Logits, b.Logits);
        Assert.True(cosine > 0.999, $"cosine similarity {cosine:F5}");
        Assert.True(agreement >= 0.9, $"top-1 agreement {agreement:P0}");
    }

    [Fact]
    public void A_pre_quantized_checkpoint_loads_to_the_same_model_without_any_float_expert_tensor()
    {
        using var source = new TempDirectory();
        using var quantizedDir = new TempDirectory();
        DbrxRandomCheckpoint.Write(Config, source.Path, seed: 8, ScalarType.BFloat16);
        var quantization = DbrxQuantization.WithModules("experts,attention", groupSize: 64);
        DbrxQuantizer.Write(source.Path, quantizedDir.Path, quantization);

        using (var checkpoint = SafetensorsCheckpoint.Open(quantizedDir.Path))
        {
            Assert.DoesNotContain(checkpoint.Tensors, t => t.Name.EndsWith(".mlp.w1", StringComparison.Ordinal) || t.Name.EndsWith("Wqkv.weight", StringComparison.Ordinal));
            Assert.Equal(SafetensorsDType.U8, checkpoint.Info("transformer.blocks.0.ffn.experts.mlp.w2.qweight").DType);
            Assert.Equal(new long[] { 16 * 64, 128 / 2 }, checkpoint.Info("transformer.blocks.0.ffn.experts.mlp.w2.qweight").Shape);
        }
        Assert.Equal(quantization, DbrxQuantization.FromConfigFile(quantizedDir.Path));

        using var onLoad = DbrxModelLoader.Load(source.Path, new DbrxLoadOptions { Device = "cpu", DType = DbrxDType.Int4, Int4 = DbrxQuantization.WithModules("experts,attention", 64) });
        using var preQuantized = DbrxModelLoader.Load(quantizedDir.Path, new DbrxLoadOptions { Device = "cpu" });
        Assert.Equal(quantization, preQuantized.Quantization);
        using var ids = tensor(new long[] { 1, 5, 9, 200, 999 }, [1, 5], ScalarType.Int64);
        using var a = onLoad.ForwardDiagnostics(new DbrxModelInput { InputIds = ids });
        using var b = preQuantized.ForwardDiagnostics(new DbrxModelInput { InputIds = ids });
        TensorAssert.Close(a.Logits, b.Logits, 1e-6, "quantized on load vs loaded pre-quantized");
    }

    [Fact]
    public void Quantizing_a_model_in_memory_equals_quantizing_it_on_load()
    {
        using var dir = new TempDirectory();
        DbrxRandomCheckpoint.Write(Config, dir.Path, seed: 9, ScalarType.BFloat16);
        using var full = DbrxModelLoader.Load(dir.Path, new DbrxLoadOptions { Device = "cpu", DType = DbrxDType.Float32 });
        using var inMemory = DbrxQuantizer.Quantize(full, DbrxQuantization.WithModules("experts,lm_head", groupSize: 32));
        using var onLoad = DbrxModelLoader.Load(dir.Path, new DbrxLoadOptions { Device = "cpu", DType = DbrxDType.Int4, Int4 = DbrxQuantization.WithModules("experts,lm_head", 32) });
        using var ids = tensor(new long[] { 3, 30, 300 }, [1, 3], ScalarType.Int64);
        using var a = inMemory.ForwardDiagnostics(new DbrxModelInput { InputIds = ids });
        using var b = onLoad.ForwardDiagnostics(new DbrxModelInput { InputIds = ids });
        TensorAssert.Close(b.Logits, a.Logits, 1e-6, "in memory vs on load");
    }

    [Fact]
    public async Task Generation_runs_on_int4_weights()
    {
        using var dir = new TempDirectory();
        DbrxRandomCheckpoint.Write(DbrxPresets.Tiny, dir.Path, seed: 2, ScalarType.BFloat16);
        using var model = DbrxModelLoader.Load(dir.Path, new DbrxLoadOptions { Device = "cpu", DType = DbrxDType.Int4, Int4 = DbrxQuantization.WithModules("experts", 64) });
        using var generator = new Generation.DbrxGenerator(model, Tokenization.DbrxTokenizer.Default, new Generation.DbrxGeneratorOptions { ContextLength = 64 });
        var result = await generator.GenerateAsync(Tokenization.DbrxTokenizer.Default.Encode("Hello"), new Generation.DbrxGenerationOptions { Temperature = 0, MaxNewTokens = 5, StopTokenIds = [] }, TestContext.Current.CancellationToken);
        Assert.Equal(5, result.TokenIds.Count);
    }

    /// <summary>tinygemm needs K to be a multiple of its inner K tiles x 16; the packing takes the most that fit.</summary>
    [Theory]
    [InlineData(6144, 8)]
    [InlineData(10752, 8)]
    [InlineData(64, 4)]
    [InlineData(96, 2)]
    public void Cuda_packing_uses_the_most_inner_k_tiles_that_divide_the_rows(long k, int tiles) =>
        Assert.Equal(tiles, AtenOps.CudaInnerKTiles(k));

    [Fact]
    public void Cuda_packing_refuses_rows_that_are_not_a_multiple_of_32() =>
        Assert.Contains("int4 rows of 48 values are not a multiple of 32", Assert.Throws<ArgumentException>(() => AtenOps.CudaInnerKTiles(48)).Message);

    [Fact]
    public void The_group_size_must_divide_the_rows()
    {
        var error = Assert.Throws<ArgumentException>(() => new DbrxForCausalLM(Config, ScalarType.Float32, DbrxPlacement.OnDevice(META, 2), quantization: new DbrxQuantization { GroupSize = 128 }));
        Assert.Contains("d_model (experts' w1, v1) = 64 to be a multiple of the group size 128", error.Message);
    }

    [Fact]
    public void Dbrx_instruct_in_int4_fits_one_80_gb_gpu_with_experts_attention_and_lm_head_quantized()
    {
        var config = DbrxPresets.DbrxInstruct;
        var int4 = DbrxMemoryFootprint.Of(config, ScalarType.BFloat16, cacheRows: 1, cacheTokens: 4096, DbrxQuantization.WithModules("experts,attention,lm_head"));
        var bf16 = DbrxMemoryFootprint.Of(config, ScalarType.BFloat16, cacheRows: 1, cacheTokens: 4096);
        Assert.InRange(bf16.TotalBytes(40) / 1e9, 263, 265);
        Assert.InRange(int4.TotalBytes(40) / 1e9, 68, 74);
        var plan = DbrxPlacementPlanner.Plan(40, int4, [new DeviceMemory(new Device(DeviceType.CUDA, 0), 80L * 1000 * 1000 * 1000)]);
        Assert.True(plan.IsSingleDevice, plan.ToString());
        var bf16Plan = DbrxPlacementPlanner.Plan(40, bf16, [new DeviceMemory(new Device(DeviceType.CUDA, 0), 80L * 1000 * 1000 * 1000)]);
        Assert.False(bf16Plan.IsSingleDevice);
    }

    private static (double Cosine, double Agreement) Compare(Tensor expected, Tensor actual)
    {
        using var e = expected.to_type(ScalarType.Float32).reshape(-1, expected.shape[^1]);
        using var a = actual.to_type(ScalarType.Float32).reshape(-1, actual.shape[^1]);
        using var cosine = nn.functional.cosine_similarity(e, a, 1).mean();
        using var same = e.argmax(-1).eq(a.argmax(-1)).to_type(ScalarType.Float32).mean();
        return (cosine.item<float>(), same.item<float>());
    }
}
