using Dbrx.Inference.Configuration;
using Dbrx.Inference.Runtime;
using static TorchSharp.torch;

namespace Dbrx.Inference.Modeling;

/// <summary>
/// The reference's random initialisation, seeded and reproducible: Normal(0, initializer_range) for linear layers,
/// the embedding and the experts, ones for LayerNorm weights. Values are drawn in float32 from one generator, tensor
/// after tensor in <see cref="DbrxTensorLayout"/> order, in fixed-size chunks, so a model filled in memory and a
/// checkpoint written chunk by chunk hold the same numbers for the same seed.
/// </summary>
internal sealed class DbrxInitializer : IDisposable
{
    /// <summary>Elements drawn at a time; part of the reproducibility contract, do not change.</summary>
    public const long ChunkElements = 1L << 24;

    private readonly Generator generator;
    private readonly double std;

    /// <summary>Starts a generator for the given configuration and seed.</summary>
    public DbrxInitializer(DbrxConfig config, long seed)
    {
        ArgumentNullException.ThrowIfNull(config);
        std = config.InitializerRange;
        generator = new Generator((ulong)seed);
    }

    /// <summary>
    /// Draws the values of one tensor chunk by chunk, in float32 on the CPU, converted to <paramref name="dtype"/>;
    /// each chunk is a flat slice of the tensor and is disposed once the enumeration moves on.
    /// </summary>
    public IEnumerable<Tensor> Chunks(DbrxTensorSpec spec, ScalarType dtype)
    {
        long total = spec.ElementCount;
        for (long start = 0; start < total; start += ChunkElements)
        {
            long count = Math.Min(ChunkElements, total - start);
            using var values = spec.Init == DbrxInitKind.Ones
                ? ones(count, ScalarType.Float32)
                : empty(count, ScalarType.Float32).normal_(0, std, generator);
            using var converted = values.to_type(dtype);
            yield return converted;
        }
    }

    /// <summary>Fills every parameter of a model in place.</summary>
    public void Fill(DbrxForCausalLM model)
    {
        ArgumentNullException.ThrowIfNull(model);
        var parameters = model.named_parameters().ToDictionary(p => p.name, p => p.parameter);
        using var grad = no_grad();
        foreach (DbrxTensorSpec spec in DbrxTensorLayout.For(model.Config))
        {
            using var flat = parameters[spec.Name].view(-1);
            long offset = 0;
            foreach (Tensor chunk in Chunks(spec, model.DType))
            {
                using var slice = flat.narrow(0, offset, chunk.shape[0]);
                slice.copy_(chunk);
                offset += chunk.shape[0];
            }
        }
    }

    /// <summary>
    /// Fills a model with random weights drawn on its own devices from libtorch's default generator: fast, for
    /// benchmarks, but not the reproducible stream checkpoints use. Same distributions as the reference's
    /// initialisation; int4 parts are quantized from such random weights one tensor at a time.
    /// </summary>
    public static void FillOnDevice(DbrxForCausalLM model, long seed)
    {
        ArgumentNullException.ThrowIfNull(model);
        manual_seed(seed);
        var specs = DbrxTensorLayout.For(model.Config).ToDictionary(s => s.Name);
        using var grad = no_grad();
        foreach (var (name, parameter) in model.named_parameters())
        {
            if (specs[name].Init == DbrxInitKind.Ones)
                parameter.fill_(RootedScalars.One);
            else
                parameter.normal_(0, model.Config.InitializerRange);
        }
        foreach (var (name, target) in model.Int4Targets())
        {
            using var scope = NewDisposeScope();
            target.LoadFloat(empty(specs[name].Shape, model.DType, model.Placement.Blocks[0]).normal_(0, model.Config.InitializerRange));
        }
    }

    /// <summary>Releases the generator.</summary>
    public void Dispose() => generator.Dispose();
}
