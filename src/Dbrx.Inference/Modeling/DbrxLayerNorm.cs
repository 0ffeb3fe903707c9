using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Dbrx.Inference.Modeling;

/// <summary>LayerNorm with a weight and no bias (<c>nn.LayerNorm(d, bias=False)</c>, eps 1e-5), as every DBRX norm is.</summary>
internal sealed class DbrxLayerNorm : nn.Module<Tensor, Tensor>
{
    private const double Epsilon = 1e-5;
    private readonly Parameter weight;
    private readonly long[] shape;

    internal DbrxLayerNorm(long width, ScalarType dtype, Device device) : base(nameof(DbrxLayerNorm))
    {
        shape = [width];
        weight = DbrxParameters.Empty(shape, dtype, device);
        register_parameter("weight", weight);
    }

    /// <inheritdoc/>
    public override Tensor forward(Tensor input) => nn.functional.layer_norm(input, shape, weight, null, Epsilon);
}
