using Dbrx.Inference.Checkpoints;
using Dbrx.Inference.Configuration;
using Dbrx.Inference.Modeling;
using Dbrx.Inference.Runtime;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using TorchSharp;
using static TorchSharp.torch;

namespace Dbrx.Inference.Loading;

/// <summary>Loads a DBRX model from a Hugging Face folder: <c>config.json</c> plus safetensors weights.</summary>
public static class DbrxModelLoader
{
    /// <summary>Reads the config, builds the model on the target device and streams the weights into it tensor by tensor.</summary>
    /// <exception cref="DbrxConfigException">The config is missing or invalid.</exception>
    /// <exception cref="CheckpointException">The weights are missing, corrupt or do not match the config.</exception>
    /// <exception cref="ArgumentException">An option is invalid, or cannot work with this model or machine.</exception>
    /// <exception cref="InvalidOperationException">The model and the planned KV cache do not fit the devices' free memory.</exception>
    /// <exception cref="OperationCanceledException">The token was cancelled; checked between tensors, and nothing is kept.</exception>
    public static DbrxForCausalLM Load(string directory, DbrxLoadOptions? options = null, CancellationToken cancellationToken = default)
    {
        DbrxLoadPlan plan = Plan(directory, options);
        using var checkpoint = SafetensorsCheckpoint.Open(directory);
        DbrxCheckpointLayout.CheckMatches(plan.Config, checkpoint, plan.Options.Strict, plan.StoredQuantization);
        ILogger log = plan.Options.Logger ?? NullLogger.Instance;
        long bytes = checkpoint.Tensors.Sum(t => t.ByteLength);
        log.LogInformation("Loading DBRX from {Directory}: {Tensors} tensors, {Gigabytes:F2} GB, {DType}; {Placement}", directory, checkpoint.Tensors.Count(), bytes / 1e9, DbrxDevices.DTypeName(plan.DType), plan.Placement);
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var model = new DbrxForCausalLM(plan.Config, plan.DType, plan.Placement, plan.Options.AttentionImplementation, plan.Options.ExpertDispatch, plan.Quantization);
        try
        {
            LoadWeights(model, checkpoint, checkpointQuantized: plan.StoredQuantization is not null, plan.Options.Progress, cancellationToken);
            log.LogInformation("Loaded DBRX from {Directory} in {Seconds:F1} s", directory, clock.Elapsed.TotalSeconds);
            return model;
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Everything <see cref="Load"/> decides and checks before it reads a weight: the config, the dtype, int4 against
    /// the model's shape, where each part goes, the attention implementation against the devices, and the weights plus
    /// the planned KV cache against each device's free memory. Cheap (no weight is read), so a caller can refuse
    /// options that cannot work when they are given rather than minutes later.
    /// </summary>
    /// <exception cref="DbrxConfigException">The config is missing or invalid.</exception>
    /// <exception cref="ArgumentException">An option is invalid, or cannot work with this model or machine.</exception>
    /// <exception cref="InvalidOperationException">The model and the planned KV cache do not fit the devices' free memory.</exception>
    public static DbrxLoadPlan Plan(string directory, DbrxLoadOptions? options = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        options ??= new DbrxLoadOptions();
        ArgumentOutOfRangeException.ThrowIfNegative(options.PlanCacheRows, nameof(options.PlanCacheRows));
        ArgumentOutOfRangeException.ThrowIfNegative(options.PlanCacheTokens.GetValueOrDefault(), nameof(options.PlanCacheTokens));
        ArgumentOutOfRangeException.ThrowIfNegative(options.PlanPrefixCacheBytes, nameof(options.PlanPrefixCacheBytes));
        DbrxConfig config = DbrxConfigJson.Load(directory);
        if (options.PlanCacheTokens > config.MaxSeqLen)
            throw new ArgumentException($"A context of {options.PlanCacheTokens} tokens is beyond the model's max_seq_len of {config.MaxSeqLen}.");
        DbrxPlacement? map = options.Device.Contains('=', StringComparison.Ordinal) ? DbrxPlacement.Parse(options.Device, config.NLayers) : null;
        Device first = map?.Embedding ?? DbrxDevices.ParseDevice(options.Device);
        DbrxQuantization? stored = DbrxQuantization.FromConfigFile(directory);
        DbrxQuantization? quantization = stored ?? (options.DType == DbrxDType.Int4 ? options.Int4 : null);
        ScalarType dtype = DbrxDTypes.Resolve(quantization is not null && options.DType == DbrxDType.Auto ? DbrxDType.Int4 : options.DType, first, config.TorchDtype);
        quantization?.Validate(config);
        var footprint = DbrxMemoryFootprint.Of(config, dtype, options.PlanCacheRows, options.PlanCacheTokens ?? config.DefaultContextLength, quantization, options.PlanPrefixCacheBytes);
        DbrxPlacement placement = map ?? Place(config, first, options.Device, footprint);
        DbrxForCausalLM.CheckSupported(dtype, placement, options.AttentionImplementation, quantization);
        DbrxMemoryCheck.Check(placement, footprint, DbrxMemoryCheck.FreeMemory(placement));
        return new DbrxLoadPlan(options, config, dtype, placement, quantization, stored);
    }

    /// <summary>
    /// One device, or for "auto" on a CUDA machine a plan over the GPUs' free memory; a plan that leaves everything on
    /// the first GPU is simply that device.
    /// </summary>
    private static DbrxPlacement Place(DbrxConfig config, Device device, string deviceOption, DbrxMemoryFootprint footprint)
    {
        if (!deviceOption.Trim().Equals("auto", StringComparison.OrdinalIgnoreCase) || device.type != DeviceType.CUDA)
            return DbrxPlacement.OnDevice(device, config.NLayers);
        return DbrxPlacementPlanner.Plan(config.NLayers, footprint, AcceleratorMemory.Query());
    }

    /// <summary>
    /// Copies every tensor of the checkpoint into the model, one at a time: float tensors into parameters; for int4
    /// parts, float tensors are quantized on the way (never holding more than one in float) and stored int4 tensors
    /// are packed for the device.
    /// </summary>
    /// <param name="model">The model to fill.</param>
    /// <param name="checkpoint">Its checkpoint.</param>
    /// <param name="checkpointQuantized">The checkpoint stores int4 tensors (it has a quantization_config).</param>
    /// <param name="progress">Receives the progress after each tensor.</param>
    /// <param name="cancellationToken">Checked before each tensor.</param>
    /// <exception cref="OperationCanceledException">The token was cancelled; the model is partly filled.</exception>
    internal static void LoadWeights(DbrxForCausalLM model, SafetensorsCheckpoint checkpoint, bool checkpointQuantized = false, IProgress<DbrxTensorProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(checkpoint);
        using var grad = no_grad();
        var int4 = model.Int4Targets();
        var parameters = model.named_parameters().ToList();
        string[] StoredNames(string name)
        {
            if (!checkpointQuantized || !int4.ContainsKey(name))
                return [name];
            var (qweight, scales, zeros) = DbrxQuantization.StoredNames(name);
            return [qweight, scales, zeros];
        }
        var all = int4.Keys.Concat(parameters.Select(p => p.name)).ToList();
        long total = all.SelectMany(StoredNames).Sum(n => checkpoint.Info(n).ByteLength), done = 0;
        int count = 0;
        void Done(string name)
        {
            done += StoredNames(name).Sum(n => checkpoint.Info(n).ByteLength);
            progress?.Report(new DbrxTensorProgress(++count, all.Count, done, total, name, model.Placement.DeviceOf(name).ToString()));
        }

        foreach (var (name, target) in int4)
        {
            cancellationToken.ThrowIfCancellationRequested();
            using (NewDisposeScope())
            {
                if (checkpointQuantized)
                {
                    var (qweight, scales, zeros) = DbrxQuantization.StoredNames(name);
                    target.LoadQuantized(new Int4Weights(checkpoint.Read(qweight, ScalarType.Byte, CPU), checkpoint.Read(scales, ScalarType.Float32, CPU), checkpoint.Read(zeros, ScalarType.Float32, CPU)));
                }
                else
                {
                    // The checkpoint's own dtype: each part goes to float32 only while it is quantized.
                    target.LoadFloat(checkpoint.FileOf(name).Read(name));
                }
            }
            Done(name);
        }
        foreach (var (name, parameter) in parameters)
        {
            cancellationToken.ThrowIfCancellationRequested();
            using (NewDisposeScope())
            {
                var source = checkpoint.Read(name, parameter.dtype, parameter.device);
                parameter.copy_(source.view(parameter.shape));
            }
            Done(name);
        }
    }
}
