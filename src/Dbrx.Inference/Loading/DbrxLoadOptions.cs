using Dbrx.Inference.Checkpoints;
using Dbrx.Inference.Configuration;
using Dbrx.Inference.Modeling;
using Dbrx.Inference.Runtime;
using Microsoft.Extensions.Logging;

namespace Dbrx.Inference.Loading;

/// <summary>Options for <see cref="DbrxModelLoader.Load"/>.</summary>
public sealed record DbrxLoadOptions
{
    /// <summary>
    /// <c>cpu</c>, <c>cuda</c>, <c>cuda:N</c>, <c>auto</c> (spread over the GPUs by their free memory, then the CPU,
    /// as the reference's <c>device_map="auto"</c>; the CPU alone without CUDA), or an explicit map such as
    /// <c>embedding=cuda:0,0-19=cuda:0,20-39=cuda:1,head=cuda:1</c> (see <see cref="DbrxPlacement.Parse"/>).
    /// </summary>
    public string Device { get; init; } = "auto";

    /// <summary>
    /// KV-cache rows (the generator's batch size) the "auto" plan and the up-front memory check leave room for: a model
    /// whose weights fit but whose cache would not is refused before loading, not after.
    /// </summary>
    public int PlanCacheRows { get; init; } = 8;

    /// <summary>Tokens per KV-cache row the plan and the memory check leave room for; default max_seq_len capped at 4096.</summary>
    public int? PlanCacheTokens { get; init; }

    /// <summary>Bytes of prefix-cache blocks on the devices (<c>DbrxGeneratorOptions.PrefixCacheBytes</c>) the plan and the memory check leave room for.</summary>
    public long PlanPrefixCacheBytes { get; init; }

    /// <summary>
    /// The dtype (see <see cref="DbrxDTypes.Resolve"/>); <see cref="DbrxDType.Int4"/> quantizes while loading, by
    /// <see cref="Int4"/>. A checkpoint saved quantized (with a <c>quantization_config</c>) loads as int4 whatever this says.
    /// </summary>
    public DbrxDType DType { get; init; } = DbrxDType.Auto;

    /// <summary>With <see cref="DbrxDType.Int4"/>: what is quantized and the group size (default: the experts, groups of 128).</summary>
    public DbrxQuantization Int4 { get; init; } = new();

    /// <summary>How attention is computed.</summary>
    public AttentionImplementation AttentionImplementation { get; init; } = AttentionImplementation.Sdpa;

    /// <summary>How expert matmuls are issued (grouped on CUDA by default).</summary>
    public ExpertDispatch ExpertDispatch { get; init; } = ExpertDispatch.Auto;

    /// <summary>Receives a <see cref="DbrxTensorProgress"/> after each tensor is copied (on the loading thread).</summary>
    public IProgress<DbrxTensorProgress>? Progress { get; init; }

    /// <summary>Logs the load's start (folder, size, devices, dtype) and end (time taken).</summary>
    public ILogger? Logger { get; init; }

    /// <summary>
    /// When true (the default) tensors the model does not have are an error; when false they are ignored. Missing and
    /// wrongly shaped tensors are always errors: a weight left unloaded would silently produce garbage.
    /// </summary>
    public bool Strict { get; init; } = true;
}
