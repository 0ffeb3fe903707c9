namespace Dbrx.Inference.Modeling;

/// <summary>How the chosen experts' rows are multiplied.</summary>
public enum ExpertDispatch
{
    /// <summary>
    /// <see cref="Grouped"/> on CUDA when a block sees more than one token (prefill, batched decode);
    /// <see cref="PerExpert"/> for a single token and on the CPU.
    /// </summary>
    Auto,

    /// <summary>
    /// One matmul per expert that has rows, as the reference does; exact to the reference's accumulation order,
    /// but the per-expert row counts are read on the host (one sync per block).
    /// </summary>
    PerExpert,

    /// <summary>
    /// <c>torch._grouped_mm</c>: all experts' rows in three calls, with the group offsets computed on the device,
    /// so no host sync in the block loop. libtorch has a fused kernel for it in bfloat16 on compute capability 9.x and
    /// 10.x (Hopper, Blackwell); for other dtypes and GPUs, and on the CPU, it copies the offsets to the host and loops
    /// over the experts itself, which costs about what <see cref="PerExpert"/> does.
    /// </summary>
    Grouped,
}
