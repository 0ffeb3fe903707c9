using Dbrx.Inference.Configuration;
using Dbrx.Inference.Modeling;
using static TorchSharp.torch;

namespace Dbrx.Inference.Tests;

public sealed class LoadBalancingLossTests
{
    /// <summary>
    /// Two layers, two tokens, three experts, top-1, worked by hand. Probabilities: layer 0 tokens (0.7, 0.2, 0.1) and
    /// (0.1, 0.6, 0.3); layer 1 tokens (0.5, 0.25, 0.25) and (0.2, 0.2, 0.6). Top-1 picks 0, 1, 0, 2, so the fractions
    /// f = (2/4, 1/4, 1/4) and the mean probabilities p = (1.5/4, 1.25/4, 1.25/4). aux = 3 · Σ f·p
    /// = 3 · (0.75 + 0.3125 + 0.3125) / 4 = 1.03125.
    /// </summary>
    [Fact]
    public void Matches_a_case_computed_by_hand()
    {
        using var layer0 = tensor(new float[] { 0.7f, 0.2f, 0.1f, 0.1f, 0.6f, 0.3f }, [2, 3]);
        using var layer1 = tensor(new float[] { 0.5f, 0.25f, 0.25f, 0.2f, 0.2f, 0.6f }, [2, 3]);
        using var aux = DbrxLoadBalancingLoss.Compute([layer0, layer1], experts: 3, topK: 1);
        Assert.Equal(1.03125, aux.item<float>(), 5);
    }

    /// <summary>
    /// With a mask [1, 0] only each layer's first token counts: picks 0 and 0, f = (1, 0, 0),
    /// p = ((0.7 + 0.5) / 2, ...) so aux = 3 · 1 · 0.6 = 1.8.
    /// </summary>
    [Fact]
    public void Padding_is_left_out_of_both_means()
    {
        using var layer0 = tensor(new float[] { 0.7f, 0.2f, 0.1f, 0.1f, 0.6f, 0.3f }, [2, 3]);
        using var layer1 = tensor(new float[] { 0.5f, 0.25f, 0.25f, 0.2f, 0.2f, 0.6f }, [2, 3]);
        using var mask = tensor(new long[] { 1, 0 }, [1, 2], ScalarType.Int64);
        using var aux = DbrxLoadBalancingLoss.Compute([layer0, layer1], experts: 3, topK: 1, mask);
        Assert.Equal(1.8, aux.item<float>(), 5);
    }

    /// <summary>With top-k every slot counts: top-2 of two experts picks both experts for every token.</summary>
    [Fact]
    public void Counts_every_top_k_slot()
    {
        using var probabilities = tensor(new float[] { 0.9f, 0.1f, 0.3f, 0.7f }, [2, 2]);
        using var aux = DbrxLoadBalancingLoss.Compute([probabilities], experts: 2, topK: 2);
        // Slot 0 picks (0, 1), slot 1 picks (1, 0): f = [[0.5, 0.5], [0.5, 0.5]]; p = (0.6, 0.4); aux = 2 · (0.5·1 + 0.5·1) = 2.
        Assert.Equal(2.0, aux.item<float>(), 5);
    }

    [Fact]
    public void Is_added_to_the_loss_with_moe_loss_weight()
    {
        var config = DbrxPresets.Tiny with { VocabSize = 50 };
        using var model = new DbrxForCausalLM(config, ScalarType.Float32, CPU);
        using (var init = new DbrxInitializer(config, 5)) init.Fill(model);
        using var ids = tensor(new long[] { 1, 2, 3, 4 }, [1, 4], ScalarType.Int64);
        using var plain = model.ForwardDiagnostics(new DbrxModelInput { InputIds = ids, Labels = ids });
        using var withAux = model.ForwardDiagnostics(new DbrxModelInput { InputIds = ids, Labels = ids, OutputRouterLogits = true });
        double expected = plain.Loss!.item<float>() + config.Ffn.MoeLossWeight * withAux.AuxLoss!.item<float>();
        Assert.Equal(expected, withAux.Loss!.item<float>(), 5);
        Assert.Equal(config.NLayers, withAux.RouterLogits!.Count);
    }
}
