using Dbrx.Inference.Configuration;
using TorchSharp;
using static TorchSharp.torch;

namespace Dbrx.Inference.Modeling;

/// <summary>
/// The expert activations (<see cref="DbrxActivationNames"/>), with the semantics of the reference's <c>ACT2FN</c> table.
/// </summary>
internal static class DbrxActivation
{
    private static readonly Dictionary<string, Func<Tensor, Tensor>> Functions = new()
    {
        ["silu"] = x => nn.functional.silu(x),
        ["swish"] = x => nn.functional.silu(x),
        ["gelu"] = x => nn.functional.gelu(x),
        ["gelu_python"] = x => nn.functional.gelu(x),
        ["gelu_new"] = x => nn.functional.gelu(x, TorchSharp.Modules.GELU.Approximate.tanh),
        ["gelu_pytorch_tanh"] = x => nn.functional.gelu(x, TorchSharp.Modules.GELU.Approximate.tanh),
        ["gelu_fast"] = x => nn.functional.gelu(x, TorchSharp.Modules.GELU.Approximate.tanh),
        ["quick_gelu"] = QuickGelu,
        ["relu"] = x => nn.functional.relu(x),
        ["sigmoid"] = torch.sigmoid,
        ["tanh"] = torch.tanh,
    };

    /// <summary>
    /// <c>x · sigmoid(1.702 x)</c>. Its Scalar is made per call rather than held in a static field, since this class is
    /// read while a config is validated, before any libtorch backend is known to be there.
    /// </summary>
    private static Tensor QuickGelu(Tensor x)
    {
        using var scale = 1.702.ToScalar();
        return x * torch.sigmoid(x.mul(scale));
    }

    /// <summary>The names this table implements: <see cref="DbrxActivationNames.All"/>, which a config is validated against.</summary>
    public static IReadOnlyCollection<string> Names => Functions.Keys;

    /// <summary>Returns the activation function for a supported name.</summary>
    /// <exception cref="ArgumentException">The name is not supported.</exception>
    public static Func<Tensor, Tensor> Get(string name) =>
        Functions.TryGetValue(name, out var f) ? f : throw new ArgumentException($"Unknown activation '{name}'.", nameof(name));
}
