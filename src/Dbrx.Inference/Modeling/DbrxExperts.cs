using Dbrx.Inference.Configuration;
using Dbrx.Inference.Runtime;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Dbrx.Inference.Modeling;

/// <summary>
/// The experts of one block (<c>ffn.experts</c>): three fused parameters <c>mlp.w1</c>, <c>mlp.v1</c>, <c>mlp.w2</c>,
/// each <c>[experts · ffn_hidden_size, d_model]</c>. Expert e owns rows e·I … (e+1)·I−1 of each and computes
/// <c>(act(x w1ₑᵀ) ⊙ x v1ₑᵀ) w2ₑ</c> (w2 used untransposed, as in the reference).
/// </summary>
internal sealed class DbrxExperts : nn.Module
{
    private readonly ExpertGlu? mlp;
    private readonly Int4ExpertGlu? int4;
    private readonly int experts;
    private readonly long hidden;
    private readonly Func<Tensor, Tensor> activation;

    private readonly ExpertDispatch dispatch;
    private readonly DeviceType deviceType;

    internal DbrxExperts(DbrxConfig config, ScalarType dtype, Device device, ExpertDispatch dispatch, DbrxQuantization? quantization) : base(nameof(DbrxExperts))
    {
        // libtorch has no grouped int4 matmul: quantized experts always run one by one.
        this.dispatch = quantization is not null ? ExpertDispatch.PerExpert : dispatch;
        deviceType = device.type;
        experts = config.Ffn.MoeNumExperts;
        hidden = config.Ffn.FfnHiddenSize;
        activation = DbrxActivation.Get(config.Ffn.ActivationName);
        if (quantization is null)
        {
            mlp = new ExpertGlu(experts * hidden, config.DModel, dtype, device);
            register_module("mlp", mlp);
        }
        else
        {
            int4 = new Int4ExpertGlu(experts, hidden, config.DModel, quantization.GroupSize, dtype, device);
            register_module("mlp", int4);
        }
    }

    /// <summary>
    /// Mixes the chosen experts' outputs for each row of <c>x</c> (<c>[N, d_model]</c>). Rows are sorted by expert
    /// and each expert runs once on its rows, reading its weights as views (never copies); outputs are accumulated in
    /// ascending expert order, as the reference does.
    /// </summary>
    internal Tensor Forward(Tensor x, Tensor topWeights, Tensor topExperts)
    {
        ExpertDispatch chosen = Choose(dispatch, deviceType, x.shape[0]);
        if (chosen == ExpertDispatch.PerExpert && x.shape[0] == 1)
            return SingleRow(x, topWeights, topExperts);
        long topK = topExperts.shape[1];
        var flatExperts = topExperts.reshape(-1);
        var (_, order) = flatExperts.sort(stable: true);
        using var perRow = topK.ToScalar();
        var rowOf = order.div(perRow, rounding_mode: RoundingMode.floor);
        var weightOf = topWeights.reshape(-1).index_select(0, order);
        var counts = flatExperts.bincount(null, experts);
        return chosen == ExpertDispatch.Grouped
            ? Grouped(x, rowOf, weightOf, counts)
            : PerExpert(x, rowOf, weightOf, counts.ToLongArray());
    }

    /// <summary>
    /// The dispatch for a call over <paramref name="tokens"/> rows. <see cref="ExpertDispatch.Auto"/> is grouped on
    /// CUDA except for a single token (batch-1 decode), where the per-expert loop measured faster on an H200 (one MoE
    /// layer at DBRX width: 583 us against 848 us for <c>_grouped_mm</c>, whose cost does not shrink with 4 rows);
    /// from 8 tokens on, grouped won by 1.8x or more.
    /// </summary>
    internal static ExpertDispatch Choose(ExpertDispatch requested, DeviceType device, long tokens) =>
        requested != ExpertDispatch.Auto ? requested
        : device == DeviceType.CUDA && tokens > 1 ? ExpertDispatch.Grouped
        : ExpertDispatch.PerExpert;

    /// <summary>Three grouped matmuls over the sorted rows; the offsets stay on the device.</summary>
    private Tensor Grouped(Tensor x, Tensor rowOf, Tensor weightOf, Tensor counts)
    {
        var offsets = counts.cumsum(0).to_type(ScalarType.Int32);
        var sorted = x.index_select(0, rowOf);
        var w1 = mlp!.W1.view(experts, hidden, -1).transpose(1, 2);
        var v1 = mlp.V1.view(experts, hidden, -1).transpose(1, 2);
        var w2 = mlp.W2.view(experts, hidden, -1);
        var gate = activation(AtenOps.GroupedMatmul(sorted, w1, offsets));
        var up = AtenOps.GroupedMatmul(sorted, v1, offsets);
        var y = AtenOps.GroupedMatmul(gate * up, w2, offsets) * weightOf.unsqueeze(1);
        return zeros_like(x).index_add_(0, rowOf, y, RootedScalars.One);
    }

    /// <summary>One matmul per expert with rows.</summary>
    private Tensor PerExpert(Tensor x, Tensor rowOf, Tensor weightOf, long[] counts)
    {
        var output = zeros_like(x);
        long offset = 0;
        for (int e = 0; e < experts; e++)
        {
            long count = counts[e];
            if (count == 0)
                continue;
            var rows = rowOf.narrow(0, offset, count);
            var y = Expert(e, x.index_select(0, rows));
            output.index_add_(0, rows, y * weightOf.narrow(0, offset, count).unsqueeze(1), RootedScalars.One);
            offset += count;
        }
        return output;
    }

    /// <summary>
    /// One row (a batch-1 decode step): its chosen experts are read to the host (the one sync) and run in ascending
    /// id order, the reference's accumulation order, with no sorting, gathering or scattering of rows, which saves
    /// about ten kernel launches per block.
    /// </summary>
    private Tensor SingleRow(Tensor x, Tensor topWeights, Tensor topExperts)
    {
        long[] chosen = topExperts.ToLongArray();
        Tensor? output = null;
        foreach (int k in Enumerable.Range(0, chosen.Length).OrderBy(k => chosen[k]))
        {
            var y = Expert((int)chosen[k], x) * topWeights.narrow(1, k, 1);
            output = output is null ? y : output.add_(y, RootedScalars.One);
        }
        return output!;
    }

    /// <summary>Expert <paramref name="e"/> on rows <c>[n, d_model]</c>: <c>(act(x w1ᵀ) ⊙ x v1ᵀ) w2</c>, its weights read as views (or its int4 weights).</summary>
    private Tensor Expert(int e, Tensor x)
    {
        if (int4 is not null)
            return int4.W2.Apply(e, activation(int4.W1.Apply(e, x)) * int4.V1.Apply(e, x));
        long first = e * hidden;
        var gate = activation(nn.functional.linear(x, mlp!.W1.narrow(0, first, hidden)));
        return (gate * nn.functional.linear(x, mlp.V1.narrow(0, first, hidden))).matmul(mlp.W2.narrow(0, first, hidden));
    }

    /// <summary>The three expert tensors in int4, under the same names.</summary>
    private sealed class Int4ExpertGlu : nn.Module
    {
        public Int4ExpertGlu(int experts, long hidden, long width, int groupSize, ScalarType dtype, Device device) : base("DbrxExpertGLU")
        {
            W1 = new Int4ExpertWeights(experts, hidden, width, transposed: false, groupSize, dtype, device);
            V1 = new Int4ExpertWeights(experts, hidden, width, transposed: false, groupSize, dtype, device);
            W2 = new Int4ExpertWeights(experts, hidden, width, transposed: true, groupSize, dtype, device);
            register_module("w1", W1);
            register_module("v1", V1);
            register_module("w2", W2);
        }

        public Int4ExpertWeights W1 { get; }
        public Int4ExpertWeights V1 { get; }
        public Int4ExpertWeights W2 { get; }
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
