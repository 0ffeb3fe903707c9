namespace Dbrx.Inference.Configuration;

/// <summary>One tensor of a DBRX checkpoint: its name, shape and how the reference initialises it.</summary>
/// <param name="Name">Hugging Face name, for example <c>transformer.blocks.0.ffn.experts.mlp.w1</c>.</param>
/// <param name="Shape">Its shape.</param>
/// <param name="Init">How it is initialised.</param>
public sealed record DbrxTensorSpec(string Name, long[] Shape, DbrxInitKind Init)
{
    /// <summary>Values the tensor holds.</summary>
    public long ElementCount => Shape.Aggregate(1L, (a, b) => a * b);
}
