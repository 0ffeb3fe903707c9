using Dbrx.Inference.Checkpoints;
using Dbrx.Inference.Configuration;
using Dbrx.Inference.Runtime;
using static TorchSharp.torch;

namespace Dbrx.Inference.Modeling;

/// <summary>Options for <see cref="DbrxModelLoader.Load"/>.</summary>
public sealed record DbrxLoadOptions
{
    /// <summary><c>cpu</c>, <c>cuda</c>, <c>cuda:N</c> or <c>auto</c> (CUDA when available).</summary>
    public string Device { get; init; } = "auto";

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
        Device device = DbrxDevices.ParseDevice(options.Device);
        ScalarType dtype = DbrxDevices.ParseDType(options.DType, device, config.TorchDtype);
        using var checkpoint = SafetensorsCheckpoint.Open(directory);
        CheckMatches(config, checkpoint, options.Strict);
        var model = new DbrxForCausalLM(config, dtype, device, options.AttentionImplementation, options.ExpertDispatch);
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
