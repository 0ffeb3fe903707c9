using Dbrx.Inference.Configuration;
using TorchSharp;
using TorchSharp.Modules;
using Dbrx.Inference.Runtime;
using static TorchSharp.torch;

namespace Dbrx.Inference.Modeling;

/// <summary>
/// The experts of one block (<c>ffn.experts</c>): three fused parameters <c>mlp.w1</c>, <c>mlp.v1</c>, <c>mlp.w2</c>,
/// each <c>[experts · ffn_hidden_size, d_model]</c>. Expert e owns rows e·I … (e+1)·I−1 of each and computes
/// <c>(act(x w1ₑᵀ) ⊙ x v1ₑᵀ) w2ₑ</c> (w2 used untransposed, as in the reference).
/// </summary>
public sealed class DbrxExperts : nn.Module
{
    private readonly ExpertGlu mlp;
    private readonly int experts;
    private readonly long hidden;
    private readonly Func<Tensor, Tensor> activation;

    internal DbrxExperts(DbrxConfig config, ScalarType dtype, Device device) : base(nameof(DbrxExperts))
    {
        experts = config.Ffn.MoeNumExperts;
        hidden = config.Ffn.FfnHiddenSize;
        activation = DbrxActivation.Get(config.Ffn.ActivationName);
        mlp = new ExpertGlu(experts * hidden, config.DModel, dtype, device);
        register_module("mlp", mlp);
    }

    /// <summary>
    /// Mixes the chosen experts' outputs for each row of <c>x</c> (<c>[N, d_model]</c>). Rows are grouped by expert
    /// and each expert runs once on its rows, reading its weights as views (never copies). Outputs are accumulated in
    /// ascending expert order, as the reference does, so results match it to the last bit of each dtype's rounding.
    /// </summary>
    internal Tensor Forward(Tensor x, Tensor topWeights, Tensor topExperts)
    {
        long topK = topExperts.shape[1];
        var flatExperts = topExperts.reshape(-1);
        var order = flatExperts.argsort();
        var rowOf = order.div(topK, rounding_mode: RoundingMode.floor);
        var weightOf = topWeights.reshape(-1).index_select(0, order);
        long[] counts = flatExperts.bincount(null, experts).ToLongArray();

        var output = zeros_like(x);
        var w1 = mlp.W1.view(experts, hidden, -1);
        var v1 = mlp.V1.view(experts, hidden, -1);
        var w2 = mlp.W2.view(experts, hidden, -1);
        long offset = 0;
        for (int e = 0; e < experts; e++)
        {
            long count = counts[e];
            if (count == 0)
                continue;
            var rows = rowOf.narrow(0, offset, count);
            var xe = x.index_select(0, rows);
            var gate = activation(nn.functional.linear(xe, w1[e]));
            var up = nn.functional.linear(xe, v1[e]);
            var y = (gate * up).matmul(w2[e]) * weightOf.narrow(0, offset, count).unsqueeze(1);
            output.index_add_(0, rows, y, 1);
            offset += count;
        }
        return output;
    }

    /// <summary>Holds the three fused weights under the reference's names (<c>w1</c>, <c>v1</c>, <c>w2</c>, no <c>.weight</c>).</summary>
    private sealed class ExpertGlu : nn.Module
    {
        public ExpertGlu(long rows, long width, ScalarType dtype, Device device) : base("DbrxExpertGLU")
        {
            W1 = DbrxParameters.Empty([rows, width], dtype, device);
            V1 = DbrxParameters.Empty([rows, width], dtype, device);
            W2 = DbrxParameters.Empty([rows, width], dtype, device);
            register_parameter("w1", W1);
            register_parameter("v1", V1);
            register_parameter("w2", W2);
        }

        public Parameter W1 { get; }
        public Parameter V1 { get; }
        public Parameter W2 { get; }
    }
}
