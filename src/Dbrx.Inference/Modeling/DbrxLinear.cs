using Dbrx.Inference.Configuration;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Dbrx.Inference.Modeling;

/// <summary>A bias-free linear layer (<c>nn.Linear(..., bias=False)</c>): <c>y = x Wᵀ</c>, weight <c>[out, in]</c>.</summary>
internal sealed class DbrxLinear : nn.Module<Tensor, Tensor>
{
    private readonly Parameter weight;

    internal DbrxLinear(long inFeatures, long outFeatures, ScalarType dtype, Device device) : base(nameof(DbrxLinear))
    {
        weight = DbrxParameters.Empty([outFeatures, inFeatures], dtype, device);
        register_parameter("weight", weight);
    }

    /// <summary>A float linear layer, or an int4 one when <paramref name="quantization"/> is given.</summary>
    internal static nn.Module<Tensor, Tensor> Create(long inFeatures, long outFeatures, ScalarType dtype, Device device, DbrxQuantization? quantization) =>
        quantization is null
            ? new DbrxLinear(inFeatures, outFeatures, dtype, device)
            : new Int4Linear(quantization.GroupSize, dtype, device);

    /// <summary>The weight, <c>[out, in]</c>.</summary>
    public Tensor Weight => weight;

    /// <inheritdoc/>
    public override Tensor forward(Tensor input) => nn.functional.linear(input, weight);
}
