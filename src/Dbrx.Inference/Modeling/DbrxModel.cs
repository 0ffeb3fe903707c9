using Dbrx.Inference.Configuration;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Dbrx.Inference.Modeling;

/// <summary>
/// The DBRX transformer (<c>transformer</c>): token embedding <c>wte</c>, the blocks, and the final norm <c>norm_f</c>.
/// <see cref="DbrxForCausalLM"/> composes a pass from <see cref="Embed"/>, <see cref="Blocks"/> and <see cref="Norm"/>.
/// </summary>
internal sealed class DbrxModel : nn.Module
{
    private readonly DbrxEmbedding wte;
    private readonly ModuleList<DbrxBlock> blocks;
    private readonly DbrxLayerNorm normF;

    internal DbrxModel(DbrxConfig config, ScalarType dtype, DbrxPlacement placement, ExpertDispatch dispatch, DbrxQuantization? quantization) : base(nameof(DbrxModel))
    {
        Config = config;
        DType = dtype;
        Placement = placement;
        wte = new DbrxEmbedding(config.VocabSize, config.DModel, dtype, placement.Embedding);
        blocks = new ModuleList<DbrxBlock>(Enumerable.Range(0, config.NLayers).Select(i => new DbrxBlock(config, i, dtype, placement.Blocks[i], dispatch, quantization)).ToArray());
        normF = new DbrxLayerNorm(config.DModel, dtype, placement.Head);
        register_module("wte", wte);
        register_module("blocks", blocks);
        register_module("norm_f", normF);
    }

    /// <summary>The configuration the model was built from.</summary>
    public DbrxConfig Config { get; }

    /// <summary>The dtype of the weights and activations.</summary>
    public ScalarType DType { get; }

    /// <summary>Where the embedding, each block and the head live.</summary>
    public DbrxPlacement Placement { get; }

    /// <summary>The embeddings of token ids (on the embedding's device).</summary>
    internal Tensor Embed(Tensor inputIds) => wte.forward(inputIds);

    /// <summary>
    /// Runs every block over <paramref name="hidden"/>, moving it between devices at block boundaries. What the blocks
    /// return beyond the hidden state goes to <paramref name="extras"/>, for the diagnostic pass only.
    /// </summary>
    internal Tensor Blocks(Tensor hidden, AttentionContext context, BlockExtras? extras = null)
    {
        extras?.HiddenStates?.Add(hidden);
        for (int i = 0; i < blocks.Count; i++)
        {
            Device device = Placement.Blocks[i];
            if (hidden.device != device)
                hidden = hidden.to(device);
            BlockOutput block = blocks[i].Forward(hidden, context.On(device), keepRouterProbabilities: extras?.RouterProbabilities is not null);
            hidden = block.Hidden;
            if (i < blocks.Count - 1)
                extras?.HiddenStates?.Add(hidden);
            extras?.Attentions?.Add(block.AttentionWeights!);
            if (block.RouterProbabilities is { } probabilities)
                extras!.RouterProbabilities!.Add(probabilities);
        }
        return hidden;
    }

    /// <summary><c>norm_f</c>, on the head's device.</summary>
    internal Tensor Norm(Tensor hidden) => normF.forward(hidden.device == Placement.Head ? hidden : hidden.to(Placement.Head));
}

/// <summary>
/// What the diagnostic pass collects from the blocks (a list per requested output, null when not requested): the
/// embeddings and the input of each later block, each block's attention probabilities, its router probabilities.
/// </summary>
internal sealed record BlockExtras(List<Tensor>? HiddenStates, List<Tensor>? Attentions, List<Tensor>? RouterProbabilities);
