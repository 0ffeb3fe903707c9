using System.Text.Json;
using System.Text.Json.Nodes;
using Dbrx.Inference.Checkpoints;
using Dbrx.Inference.Configuration;
using Dbrx.Inference.Modeling;
using static TorchSharp.torch;

namespace Dbrx.Inference.Quantization;

/// <summary>
/// Writes a pre-quantized copy of a DBRX checkpoint (<c>dbrx quantize</c>), so quantizing 264 GB happens once: tensor
/// by tensor, each quantized one expert at a time, so memory stays near one float tensor.
/// </summary>
public static class DbrxQuantizer
{
    /// <summary>Files copied unchanged from the source folder when present.</summary>
    private static readonly string[] SideFiles = ["tokenizer.json", "tokenizer_config.json", "generation_config.json", "special_tokens_map.json", "added_tokens.json"];

    /// <summary>
    /// An int4 copy of a float model already in memory, on the same devices: its int4 parts quantized from the
    /// model's weights, every other weight copied. Used to compare the two on the same inputs.
    /// </summary>
    public static DbrxForCausalLM Quantize(DbrxForCausalLM source, DbrxQuantization quantization)
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentNullException.ThrowIfNull(quantization);
        if (source.Quantization is not null)
            throw new ArgumentException("The model is already quantized.", nameof(source));
        var copy = new DbrxForCausalLM(source.Config, source.DType, source.Placement, source.AttentionImplementation, quantization: quantization);
        var weights = source.named_parameters().ToDictionary(p => p.name, p => p.parameter);
        using var grad = no_grad();
        foreach (var (name, target) in copy.Int4Targets())
            target.LoadFloat(weights[name]);
        foreach (var (name, parameter) in copy.named_parameters())
            parameter.copy_(weights[name]);
        return copy;
    }

    /// <summary>Quantizes <paramref name="sourceDirectory"/> into <paramref name="outputDirectory"/>.</summary>
    /// <param name="sourceDirectory">A float DBRX checkpoint.</param>
    /// <param name="outputDirectory">Where the int4 checkpoint goes.</param>
    /// <param name="quantization">What is quantized, and the group size.</param>
    /// <param name="maxShardBytes">Largest output shard.</param>
    /// <param name="device">Where the arithmetic runs (default the CPU); a GPU writes the same values.</param>
    /// <param name="progress">Receives the progress after each source tensor (bytes read from the source).</param>
    /// <exception cref="ArgumentException">The group size does not fit the model, or the source is already quantized.</exception>
    public static void Write(string sourceDirectory, string outputDirectory, DbrxQuantization quantization, long maxShardBytes = 5_000_000_000, Device? device = null, IProgress<DbrxTensorProgress>? progress = null)
    {
        ArgumentNullException.ThrowIfNull(quantization);
        device ??= CPU;
        DbrxConfig config = DbrxConfigJson.Load(sourceDirectory);
        if (DbrxQuantization.FromConfigFile(sourceDirectory) is not null)
            throw new ArgumentException($"'{sourceDirectory}' is already quantized.");
        quantization.Validate(config);
        using var checkpoint = SafetensorsCheckpoint.Open(sourceDirectory);
        DbrxCheckpointLayout.CheckMatches(config, checkpoint);

        var layout = DbrxCheckpointLayout.Stored(config, quantization);
        var tensors = layout.Select(t => (t.Name, t.DType ?? checkpoint.Info(t.Name).DType, t.Shape)).ToList();
        using var writer = new SafetensorsCheckpointWriter(outputDirectory, tensors, maxShardBytes);
        var sources = DbrxTensorLayout.For(config);
        long total = sources.Sum(s => checkpoint.Info(s.Name).ByteLength), done = 0;
        int count = 0;
        foreach (DbrxTensorSpec spec in sources)
        {
            using (NewDisposeScope())
            {
                Tensor source = checkpoint.FileOf(spec.Name).Read(spec.Name).view(spec.Shape);
                if (!quantization.Quantizes(spec.Name))
                {
                    writer.WriteTensor(source);
                }
                else
                {
                    using Int4Weights quantized = DbrxTensorLayout.IsExpertWeight(spec.Name)
                        ? Int4ExpertWeights.QuantizeStored(source, config.Ffn.MoeNumExperts, config.Ffn.FfnHiddenSize, config.DModel, DbrxTensorLayout.IsExpertW2(spec.Name), quantization.GroupSize, device)
                        : Int4Weights.Quantize(source, quantization.GroupSize, device);
                    writer.WriteTensor(quantized.Pairs);
                    writer.WriteTensor(quantized.Scales.to_type(ScalarType.BFloat16));
                    writer.WriteTensor(quantized.Zeros.to_type(ScalarType.BFloat16));
                }
            }
            done += checkpoint.Info(spec.Name).ByteLength;
            progress?.Report(new DbrxTensorProgress(++count, sources.Count, done, total, spec.Name, device.ToString()));
        }
        writer.Complete();

        var json = JsonNode.Parse(DbrxConfigJson.ToJson(config))!.AsObject();
        json["quantization_config"] = quantization.ToJson();
        File.WriteAllText(Path.Combine(outputDirectory, DbrxConfigJson.FileName), json.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
        foreach (string file in SideFiles.Where(f => File.Exists(Path.Combine(sourceDirectory, f))))
            File.Copy(Path.Combine(sourceDirectory, file), Path.Combine(outputDirectory, file), overwrite: true);
    }
}
