using TorchSharp;
using static TorchSharp.torch;

namespace Dbrx.Inference.Runtime;

/// <summary>
/// The constant Scalars the engine passes to libtorch, created once and referenced for the life of the process.
/// </summary>
/// <remarks>
/// A TorchSharp Scalar frees its native memory in a finalizer. One created inside an expression (<c>x * 0.5f</c>,
/// <c>masked_fill(mask, float.NegativeInfinity)</c>, or TorchSharp's own <c>a + b</c>, which adds with a temporary
/// alpha of 1) is unreferenced once its handle has gone to native code, so a collection on another thread can free
/// it while libtorch reads it: an error, or a wrong value read from reused memory. Constants live here; a value that
/// varies is a <c>using</c> local created with <c>ToScalar()</c> next to the call. The build enforces both
/// (analyzers/README.md).
/// </remarks>
internal static class RootedScalars
{
    public static readonly Scalar Zero = 0.ToScalar();
    public static readonly Scalar One = 1.ToScalar();
    public static readonly Scalar MinusOne = (-1).ToScalar();
    public static readonly Scalar NegativeInfinity = float.NegativeInfinity.ToScalar();

    /// <summary><c>arange(start, stop, step)</c> with Scalars that outlive the call (TorchSharp's shorter overloads drop theirs).</summary>
    public static Tensor Arange(long start, long stop, long step, ScalarType dtype, Device device)
    {
        using var from = start.ToScalar();
        using var to = stop.ToScalar();
        using var by = step.ToScalar();
        return arange(from, to, by, dtype, device);
    }
}
