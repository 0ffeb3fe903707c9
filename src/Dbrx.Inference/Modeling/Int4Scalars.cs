using Dbrx.Inference.Runtime;
using TorchSharp;

namespace Dbrx.Inference.Modeling;

/// <summary>
/// The constants of int4 arithmetic as Scalars that stay alive (see <see cref="RootedScalars"/>), in a class of
/// their own so that they are created when int4 tensors are first computed, never when a type is merely read.
/// </summary>
internal static class Int4Scalars
{
    /// <summary>The stored value of a weight equal to its group's zero: q − 8 is what the scale multiplies.</summary>
    public static readonly Scalar Offset = 8.ToScalar();

    /// <summary>Values a nibble holds (16): two make a byte.</summary>
    public static readonly Scalar Levels = 16.ToScalar();

    /// <summary>The largest value (15).</summary>
    public static readonly Scalar Largest = 15.ToScalar();

    /// <summary>The smallest range of a group, so a constant group has a scale above zero.</summary>
    public static readonly Scalar SmallestRange = 1e-6.ToScalar();
}
