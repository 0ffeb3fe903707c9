using Dbrx.Inference.Checkpoints;
using Dbrx.Inference.Configuration;
using Dbrx.Inference.Runtime;
using TorchSharp;
using static TorchSharp.torch;

namespace Dbrx.Inference.Modeling;

/// <summary>Options for <see cref="DbrxModelLoader.Load"/>.</summary>
public sealed record DbrxLoadOptions
{
    /// <summary>
    /// <c>cpu</c>, <c>cuda</c>, <c>cuda:N</c>, <c>auto</c> (spread over the GPUs by their free memory, then the CPU,
    /// as the reference's <c>device_map="auto"</c>; the CPU alone without CUDA), or an explicit map such as
    /// <c>embedding=cuda:0,0-19=cuda:0,20-39=cuda:1,head=cuda:1</c> (see <see cref="DbrxPlacement.Parse"/>).
    /// </summary>
    public string Device { get; init; } = "auto";

    /// <summary>KV-cache rows the "auto" plan leaves room for on each GPU (the generator's batch size).</summary>
    public int PlanCacheRows { get; init; } = 8;

    /// <summary>Tokens per KV-cache row the "auto" plan leaves room for; default max_seq_len capped at 4096.</summary>
    public int? PlanCacheTokens { get; init; }

    /// <summary><c>float32</c>, <c>bfloat16</c>, <c>float16</c>, or <c>auto</c> (see <see cref="DbrxDevices.ParseDType"/>).</summary>
    public string DType { get; init; } = "auto";

    /// <summary>How attention is computed.</summary>
    public AttentionImplementation AttentionImplementation { get; init; } = AttentionImplementation.Sdpa;

    /// <summary>How expert matmuls are issued (grouped on CUDA by default).</summary>
    public ExpertDispatch ExpertDispatch { get; init; } = ExpertDispatch.Auto;

    /// <summary>
    /// When true (the default) tensors the model does not have are an error; when false they are ignored. Missing and
    /// wrongly shaped tensors are always errors: a weight left unloaded would silently produce garbage.
    /// </summary>
    public bool Strict { get; init; } = true;
}

/// <summary>Loads a DBRX model from a Hugging Face folder: <c>config.json</c> plus safetensors weights.</summary>
public static class DbrxModelLoader
{
    /// <summary>Reads the config, builds the model on the target device and streams the weights into it tensor by tensor.</summary>
    /// <exception cref="DbrxConfigException">The config is missing or invalid.</exception>
    /// <exception cref="CheckpointException">The weights are missing, corrupt or do not match the config.</exception>
    /// <exception cref="ArgumentException">An option is invalid.</exception>
    public static DbrxForCausalLM Load(string directory, DbrxLoadOptions? options = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        options ??= new DbrxLoadOptions();
        DbrxConfig config = DbrxConfigJson.Load(directory);
        bool explicitMap = options.Device.Contains('=', StringComparison.Ordinal);
        Device first = explicitMap ? DbrxPlacement.Parse(options.Device, config.NLayers).Embedding : DbrxDevices.ParseDevice(options.Device);
        ScalarType dtype = DbrxDevices.ParseDType(options.DType, first, config.TorchDtype);
        DbrxPlacement placement = explicitMap ? DbrxPlacement.Parse(options.Device, config.NLayers) : Place(config, dtype, first, options);
        using var checkpoint = SafetensorsCheckpoint.Open(directory);
        CheckMatches(config, checkpoint, options.Strict);
        var model = new DbrxForCausalLM(config, dtype, placement, options.AttentionImplementation, options.ExpertDispatch);
        try
        {
            LoadWeights(model, checkpoint);
            return model;
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }

    /// <summary>
    /// One device, or for "auto" on a CUDA machine a plan over the GPUs' free memory; a plan that leaves everything on
    /// the first GPU is simply that device.
    /// </summary>
    private static DbrxPlacement Place(DbrxConfig config, ScalarType dtype, Device device, DbrxLoadOptions options)
    {
        if (options.Device.Trim().ToLowerInvariant() != "auto" || device.type != DeviceType.CUDA)
            return DbrxPlacement.OnDevice(device, config.NLayers);
        var footprint = DbrxMemoryFootprint.Of(config, dtype, options.PlanCacheRows, options.PlanCacheTokens ?? Math.Min(config.MaxSeqLen, 4096));
        return DbrxPlacementPlanner.Plan(config.NLayers, footprint, AcceleratorMemory.Query());
    }

    /// <summary>
    /// Checks names and shapes before any data is read: every error is reported at once, naming tensors and files.
    /// The 3-D <c>[experts, ffn_hidden_size, d_model]</c> expert layout some converters write is accepted.
    /// </summary>
    public static void CheckMatches(DbrxConfig config, SafetensorsCheckpoint checkpoint, bool strict = true)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(checkpoint);
        var problems = new List<string>();
        var expected = DbrxTensorLayout.For(config);
        var names = expected.Select(s => s.Name).ToHashSet(StringComparer.Ordinal);
        foreach (DbrxTensorSpec spec in expected)
        {
            if (!checkpoint.Contains(spec.Name))
            {
                problems.Add($"missing tensor '{spec.Name}' {SafetensorsTensorInfo.FormatShape(spec.Shape)}");
                continue;
            }
            SafetensorsTensorInfo info = checkpoint.Info(spec.Name);
            string file = Path.GetFileName(checkpoint.FileOf(spec.Name).Path);
            if (!ShapeMatches(spec, info.Shape, config))
                problems.Add($"tensor '{spec.Name}' in {file} has shape {info.ShapeText}, the model expects {SafetensorsTensorInfo.FormatShape(spec.Shape)}");
            else if (info.DType is not (SafetensorsDType.F32 or SafetensorsDType.BF16 or SafetensorsDType.F16 or SafetensorsDType.F64))
                problems.Add($"tensor '{spec.Name}' in {file} has dtype {info.DType}, expected a floating-point type");
        }
        if (strict)
        {
            foreach (SafetensorsTensorInfo info in checkpoint.Tensors.OrderBy(t => t.Name, StringComparer.Ordinal))
            {
                // Old exports carry the rotary inverse frequencies as a buffer; the reference recomputes them too.
                if (!names.Contains(info.Name) && !info.Name.EndsWith("rotary_emb.inv_freq", StringComparison.Ordinal))
                    problems.Add($"unexpected tensor '{info.Name}' in {Path.GetFileName(checkpoint.FileOf(info.Name).Path)}");
            }
        }
        if (problems.Count > 0)
        {
            const int shown = 20;
            string list = string.Join("\n  ", problems.Take(shown)) + (problems.Count > shown ? $"\n  ... and {problems.Count - shown} more" : "");
            throw new CheckpointException($"Checkpoint '{checkpoint.Directory}' does not match its config (d_model {config.DModel}, n_layers {config.NLayers}, {config.Ffn.MoeNumExperts} experts):\n  {list}");
        }
    }

    private static bool ShapeMatches(DbrxTensorSpec spec, long[] actual, DbrxConfig config)
    {
        if (actual.SequenceEqual(spec.Shape))
            return true;
        bool expert = spec.Name.Contains(".ffn.experts.mlp.", StringComparison.Ordinal);
        return expert && actual.SequenceEqual(new long[] { config.Ffn.MoeNumExperts, config.Ffn.FfnHiddenSize, config.DModel });
    }

    /// <summary>Copies every tensor of the checkpoint into the model's parameters, one at a time.</summary>
    public static void LoadWeights(DbrxForCausalLM model, SafetensorsCheckpoint checkpoint)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(checkpoint);
        using var grad = no_grad();
        foreach (var (name, parameter) in model.named_parameters())
        {
            using var scope = NewDisposeScope();
            var source = checkpoint.Read(name, parameter.dtype, parameter.device);
            parameter.copy_(source.view(parameter.shape));
        }
    }
}
