using Dbrx.Inference.Configuration;
using Dbrx.Inference.Modeling;
using static TorchSharp.torch;

namespace Dbrx.Inference.Loading;

/// <summary>What <see cref="DbrxModelLoader.Plan"/> decided for a model folder, before any weight is read.</summary>
/// <param name="Options">The options planned with.</param>
/// <param name="Config">The model's configuration.</param>
/// <param name="DType">The weights' and activations' dtype.</param>
/// <param name="Placement">Where the embedding, each block and the head go.</param>
/// <param name="Quantization">The int4 scheme of the weights, or null for float weights.</param>
/// <param name="StoredQuantization">The scheme the checkpoint was saved with, or null when it holds float weights.</param>
public sealed record DbrxLoadPlan(DbrxLoadOptions Options, DbrxConfig Config, ScalarType DType, DbrxPlacement Placement, DbrxQuantization? Quantization, DbrxQuantization? StoredQuantization);
