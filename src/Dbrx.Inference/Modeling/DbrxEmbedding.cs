using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Dbrx.Inference.Modeling;

/// <summary>The token embedding table (<c>transformer.wte</c>), <c>[vocab, d_model]</c>; DBRX has no padding row.</summary>
internal sealed class DbrxEmbedding : nn.Module<Tensor, Tensor>
{
    private readonly Parameter weight;

    internal DbrxEmbedding(long vocabSize, long width, ScalarType dtype, Device device) : base(nameof(DbrxEmbedding))
    {
        weight = DbrxParameters.Empty([vocabSize, width], dtype, device);
        register_parameter("weight", weight);
    }

    /// <summary>Rows of the table.</summary>
    public long VocabSize => weight.shape[0];

    /// <inheritdoc/>
    public override Tensor forward(Tensor inputIds)
    {
        using var flat = inputIds.reshape(-1);
        using var rows = weight.index_select(0, flat);
        return rows.view([.. inputIds.shape, weight.shape[1]]);
    }
}
