namespace Dbrx.Inference.Modeling;

/// <summary>How far a load is: reported after each tensor (see <see cref="DbrxLoadOptions.Progress"/>).</summary>
/// <param name="TensorsDone">Checkpoint tensors copied so far.</param>
/// <param name="TensorsTotal">Checkpoint tensors to copy.</param>
/// <param name="BytesDone">Their stored bytes copied so far.</param>
/// <param name="BytesTotal">Their stored bytes in all.</param>
/// <param name="Tensor">The tensor just copied.</param>
/// <param name="Device">Where it went (<c>cpu</c>, <c>cuda:0</c>, ...).</param>
public sealed record DbrxLoadProgress(int TensorsDone, int TensorsTotal, long BytesDone, long BytesTotal, string Tensor, string Device)
{
    /// <summary>The share of bytes done, 0 to 1.</summary>
    public double Fraction => BytesTotal == 0 ? 1 : (double)BytesDone / BytesTotal;
}
