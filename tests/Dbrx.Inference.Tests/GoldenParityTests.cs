using Dbrx.Inference.Modeling;
using Dbrx.Inference.Tests.Support;
using static TorchSharp.torch;

namespace Dbrx.Inference.Tests;

/// <summary>The model against transformers' outputs on the golden checkpoint, float32, within 1e-4.</summary>
public sealed class GoldenParityTests
{
    private const double Tolerance = 1e-4;

    /// <summary>Row 1 of the golden batch starts with this many padding tokens.</summary>
    private const int Padding = 3;

    [Theory]
    [InlineData(AttentionImplementation.Eager)]
    [InlineData(AttentionImplementation.Sdpa)]
    public void Logits_match_the_reference(AttentionImplementation attention)
    {
        using var golden = new Golden();
        using var model = Golden.LoadModel(attention);
        using var ids = golden.Get("input_ids");
        using var mask = golden.Get("attention_mask");
        using var output = model.Forward(new DbrxModelInput { InputIds = ids, AttentionMask = mask });
        using var expected = golden.Get("logits");
        TensorAssert.Close(expected[0], output.Logits[0], Tolerance, "row 0 logits");
        TensorAssert.Close(expected[1].narrow(0, Padding, 11 - Padding), output.Logits[1].narrow(0, Padding, 11 - Padding), Tolerance, "row 1 logits at real positions");
    }
}
