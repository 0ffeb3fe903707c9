using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Dbrx.Inference.Modeling;

/// <summary>Creates model parameters: uninitialised storage on the target device, filled later by a loader or initialiser.</summary>
internal static class DbrxParameters
{
    /// <summary>
    /// A parameter of the given shape with uninitialised storage (no memory at all on the meta device). It is kept out
    /// of any dispose scope, because it lives as long as its module, and needs no gradient (this is an inference engine).
    /// </summary>
    public static Parameter Empty(long[] shape, ScalarType dtype, Device device)
    {
        var parameter = new Parameter(empty(shape, dtype, device), requires_grad: false);
        parameter.DetachFromDisposeScope();
        return parameter;
    }
}
