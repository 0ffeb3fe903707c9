namespace Dbrx.Inference.Checkpoints;

/// <summary>
/// How far work over a checkpoint's tensors is, reported after each tensor: loading (see
/// <c>DbrxLoadOptions.Progress</c>), writing a random checkpoint, quantizing one.
/// </summary>
/// <param name="TensorsDone">Tensors done so far.</param>
/// <param name="TensorsTotal">Tensors in all.</param>
/// <param name="BytesDone">Their stored bytes done so far.</param>
/// <param name="BytesTotal">Their stored bytes in all.</param>
/// <param name="Tensor">The tensor just done.</param>
/// <param name="Device">Where it went or was computed (<c>cpu</c>, <c>cuda:0</c>, ...).</param>
public sealed record DbrxTensorProgress(int TensorsDone, int TensorsTotal, long BytesDone, long BytesTotal, string Tensor, string Device)
{
    /// <summary>The share of bytes done, 0 to 1.</summary>
    public double Fraction => BytesTotal == 0 ? 1 : (double)BytesDone / BytesTotal;
}
