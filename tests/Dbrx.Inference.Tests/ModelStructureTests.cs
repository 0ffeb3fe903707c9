using Dbrx.Inference.Configuration;
using Dbrx.Inference.Modeling;
using static TorchSharp.torch;

namespace Dbrx.Inference.Tests;

/// <summary>The full 132B configuration built on the meta device: names and shapes without a byte of weights.</summary>
public sealed class ModelStructureTests
{
    [Fact]
    public void Dbrx_instruct_has_exactly_the_checkpoints_323_tensors()
    {
        using var model = new DbrxForCausalLM(DbrxPresets.DbrxInstruct, ScalarType.BFloat16, META);
        var parameters = model.named_parameters().Select(p => (p.name, p.parameter.shape)).ToList();
        Assert.Equal(323, parameters.Count);
        var layout = DbrxTensorLayout.For(DbrxPresets.DbrxInstruct);
        Assert.Equal(layout.Select(s => s.Name).Order(), parameters.Select(p => p.name).Order());
        foreach (var spec in layout)
            Assert.Equal(spec.Shape, parameters.Single(p => p.name == spec.Name).shape);

        var shape = parameters.ToDictionary(p => p.name, p => p.shape);
        Assert.Equal(new long[] { 100352, 6144 }, shape["transformer.wte.weight"]);
        Assert.Equal(new long[] { 8192, 6144 }, shape["transformer.blocks.39.norm_attn_norm.attn.Wqkv.weight"]);
        Assert.Equal(new long[] { 6144, 6144 }, shape["transformer.blocks.0.norm_attn_norm.attn.out_proj.weight"]);
        Assert.Equal(new long[] { 16, 6144 }, shape["transformer.blocks.7.ffn.router.layer.weight"]);
        Assert.Equal(new long[] { 172032, 6144 }, shape["transformer.blocks.20.ffn.experts.mlp.w1"]);
        Assert.Equal(new long[] { 172032, 6144 }, shape["transformer.blocks.20.ffn.experts.mlp.v1"]);
        Assert.Equal(new long[] { 172032, 6144 }, shape["transformer.blocks.20.ffn.experts.mlp.w2"]);
        Assert.Equal(new long[] { 6144 }, shape["transformer.blocks.3.norm_attn_norm.norm_2.weight"]);
        Assert.Equal(new long[] { 6144 }, shape["transformer.norm_f.weight"]);
        Assert.Equal(new long[] { 100352, 6144 }, shape["lm_head.weight"]);
        // dbrx-instruct's published size.
        Assert.Equal(131_596_523_520, parameters.Sum(p => p.shape.Aggregate(1L, (a, b) => a * b)));
        Assert.All(model.parameters(), p => Assert.True(p.is_meta));
    }
}
