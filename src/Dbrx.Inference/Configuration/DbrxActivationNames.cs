namespace Dbrx.Inference.Configuration;

/// <summary>
/// The expert activations a DBRX config may name (<c>ffn_config.ffn_act_fn.name</c>): the names of the reference's
/// <c>ACT2FN</c> table this engine implements (the functions themselves are <c>DbrxActivation</c>'s).
/// dbrx-instruct uses <c>silu</c>.
/// </summary>
internal static class DbrxActivationNames
{
    public static IReadOnlyList<string> All { get; } =
        ["silu", "swish", "gelu", "gelu_python", "gelu_new", "gelu_pytorch_tanh", "gelu_fast", "quick_gelu", "relu", "sigmoid", "tanh"];

    public static bool IsKnown(string name) => All.Contains(name, StringComparer.Ordinal);
}
