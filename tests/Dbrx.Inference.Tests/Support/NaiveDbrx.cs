using Dbrx.Inference.Checkpoints;
using Dbrx.Inference.Configuration;
using Dbrx.Inference.Modeling;
using static TorchSharp.torch;

namespace Dbrx.Inference.Tests.Support;

/// <summary>
/// A deliberately plain DBRX forward written straight from the reference's description (repeat_kv, a dense pass of
/// every expert, an explicit causal mask), sharing no code with the engine. It checks configurations the golden case
/// does not cover (MQA, top-2, p = 2, no clamp, other rope bases and activations).
/// </summary>
internal static class NaiveDbrx
{
    public static Tensor Logits(DbrxConfig config, SafetensorsCheckpoint weights, long[] ids)
    {
        using var scope = NewDisposeScope();
        Tensor W(string name) => weights.Read(name, ScalarType.Float64, CPU);
        int T = ids.Length, d = config.DModel, H = config.NHeads, Hkv = config.Attention.KvNHeads, hd = config.HeadDim;
        int E = config.Ffn.MoeNumExperts, I = config.Ffn.FfnHiddenSize, k = config.Ffn.MoeTopK;

        var h = W("transformer.wte.weight").index_select(0, tensor(ids));            // [T, d]
        var positions = arange(T, ScalarType.Float64);
        var angles = positions.unsqueeze(1) * pow(tensor(config.Attention.RopeTheta, ScalarType.Float64), -arange(0, hd, 2, ScalarType.Float64) / hd);
        var cos = cat([angles.cos(), angles.cos()], 1);
        var sin = cat([angles.sin(), angles.sin()], 1);
        Tensor Rope(Tensor x) => x * cos + cat([-x.narrow(-1, hd / 2, hd / 2), x.narrow(-1, 0, hd / 2)], -1) * sin;   // x [heads, T, hd]
        var causal = ones(T, T).tril().logical_not();
        Func<Tensor, Tensor> act = DbrxActivation.Get(config.Ffn.ActivationName);

        for (int layer = 0; layer < config.NLayers; layer++)
        {
            string p = $"transformer.blocks.{layer}.";
            var x = nn.functional.layer_norm(h, [d], W(p + "norm_attn_norm.norm_1.weight"), null, 1e-5);
            var qkv = x.matmul(W(p + "norm_attn_norm.attn.Wqkv.weight").t());
            if (config.Attention.ClipQkv is { } clip)
                qkv = qkv.clamp(-clip, clip);
            var q = Rope(qkv.narrow(1, 0, d).view(T, H, hd).transpose(0, 1));
            var key = Rope(qkv.narrow(1, d, Hkv * hd).view(T, Hkv, hd).transpose(0, 1)).repeat_interleave(H / Hkv, 0);
            var value = qkv.narrow(1, d + Hkv * hd, Hkv * hd).view(T, Hkv, hd).transpose(0, 1).repeat_interleave(H / Hkv, 0);
            var scores = q.matmul(key.transpose(1, 2)) / Math.Sqrt(hd);
            var attn = scores.masked_fill(causal, double.NegativeInfinity).softmax(-1).matmul(value);
            h = h + attn.transpose(0, 1).reshape(T, d).matmul(W(p + "norm_attn_norm.attn.out_proj.weight").t());

            var x2 = nn.functional.layer_norm(h, [d], W(p + "norm_attn_norm.norm_2.weight"), null, 1e-5);
            var probabilities = x2.matmul(W(p + "ffn.router.layer.weight").t()).softmax(-1);
            var (topW, topE) = probabilities.topk(k, -1);
            if (config.Ffn.MoeNormalizeExpertWeights is { } norm)
                topW = topW / topW.abs().pow(norm).sum(-1, keepdim: true).pow(1.0 / norm);
            var w1 = W(p + "ffn.experts.mlp.w1").view(E, I, d);
            var v1 = W(p + "ffn.experts.mlp.v1").view(E, I, d);
            var w2 = W(p + "ffn.experts.mlp.w2").view(E, I, d);
            var mixed = zeros_like(x2);
            for (int e = 0; e < E; e++)
            {
                var weightOfE = (topW * topE.eq(e)).sum(-1, keepdim: true);      // 0 where e is not chosen
                var y = (act(x2.matmul(w1[e].t())) * x2.matmul(v1[e].t())).matmul(w2[e]);
                mixed = mixed + y * weightOfE;
            }
            h = h + mixed;
        }
        h = nn.functional.layer_norm(h, [d], W("transformer.norm_f.weight"), null, 1e-5);
        return scope.MoveToOuter(h.matmul(W("lm_head.weight").t()).unsqueeze(0));
    }
}
