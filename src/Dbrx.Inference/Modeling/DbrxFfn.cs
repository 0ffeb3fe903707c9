using Dbrx.Inference.Configuration;
using static TorchSharp.torch;

namespace Dbrx.Inference.Modeling;

/// <summary>The mixture-of-experts feed-forward of one block (<c>ffn</c>): router, then the chosen experts.</summary>
internal sealed class DbrxFfn : nn.Module
{
    private readonly DbrxRouter router;
    private readonly DbrxExperts experts;

    internal DbrxFfn(DbrxConfig config, ScalarType dtype, Device device, ExpertDispatch dispatch, DbrxQuantization? quantization) : base(nameof(DbrxFfn))
    {
        router = new DbrxRouter(config, dtype, device);
        experts = new DbrxExperts(config, dtype, device, dispatch, quantization);
        register_module("router", router);
        register_module("experts", experts);
    }

    /// <summary>Runs <c>x</c> (<c>[B, T, d_model]</c>) through its experts; also returns the router probabilities <c>[B·T, experts]</c> in float32.</summary>
    internal (Tensor Output, Tensor RouterProbabilities) Forward(Tensor x)
    {
        var rows = x.reshape(-1, x.shape[^1]);
        var routing = router.Forward(rows);
        var output = experts.Forward(rows, routing.TopWeights, routing.TopExperts);
        return (output.view(x.shape), routing.Probabilities);
    }
}
