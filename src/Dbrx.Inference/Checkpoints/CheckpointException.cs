namespace Dbrx.Inference.Checkpoints;

/// <summary>
/// A checkpoint that cannot be read or does not match the model: a truncated or corrupt safetensors file, a broken
/// shard index, or missing, unexpected or wrongly shaped tensors. The message names the file and the tensor.
/// </summary>
public sealed class CheckpointException : Exception
{
    /// <summary>Creates the exception with a message that names the file and tensor at fault.</summary>
    public CheckpointException(string message, Exception? inner = null) : base(message, inner) { }
}
