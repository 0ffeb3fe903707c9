using Dbrx.Inference.Configuration;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Dbrx.Inference.Modeling;

/// <summary>The outputs of <see cref="DbrxModel"/> before the language-model head.</summary>
internal sealed record DbrxModelOutput(Tensor LastHiddenState, List<Tensor>? HiddenStates, List<Tensor>? Attentions, List<Tensor>? RouterProbabilities);

/// <summary>
/// The DBRX transformer (<c>transformer</c>): token embedding <c>wte</c>, the blocks, and the final norm <c>norm_f</c>.
/// </summary>
public sealed class DbrxModel : nn.Module
{
    private readonly DbrxEmbedding wte;
    private readonly ModuleList<DbrxBlock> blocks;
    private readonly DbrxLayerNorm normF;

    internal DbrxModel(DbrxConfig config, ScalarType dtype, DbrxPlacement placement, ExpertDispatch dispatch, Quantization.DbrxQuantization? quantization) : base(nameof(DbrxModel))
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

    /// <summary>Looks up the embeddings of token ids.</summary>
    public Tensor Embed(Tensor inputIds) => wte.forward(inputIds);

    internal DbrxModelOutput Forward(DbrxModelInput input, AttentionImplementation implementation, bool outputRouterLogits)
    {
        var hidden = input.InputEmbeddings ?? wte.forward(input.InputIds!);
        long batch = hidden.shape[0], tokens = hidden.shape[1];
        using var context = BuildContext(input, (int)batch, tokens, implementation);

        var hiddenStates = input.OutputHiddenStates ? new List<Tensor> { hidden } : null;
        var attentions = input.OutputAttentions ? new List<Tensor>() : null;
        var routerProbabilities = outputRouterLogits ? new List<Tensor>() : null;
        for (int i = 0; i < blocks.Count; i++)
        {
            Device device = Placement.Blocks[i];
            if (hidden.device != device)
                hidden = hidden.to(device);
            BlockOutput block = blocks[i].Forward(hidden, context.On(device), outputRouterLogits);
            hidden = block.Hidden;
            if (i < blocks.Count - 1)
                hiddenStates?.Add(hidden);
            attentions?.Add(block.AttentionWeights!);
            if (block.RouterProbabilities is { } probabilities)
                routerProbabilities!.Add(probabilities);
        }
        input.Cache?.Advance((int)batch, tokens);
        var last = normF.forward(hidden.device == Placement.Head ? hidden : hidden.to(Placement.Head));
        hiddenStates?.Add(last);
        return new DbrxModelOutput(last, hiddenStates, attentions, routerProbabilities);
    }

    /// <summary>
    /// Works out positions, cache slots and the mask for one pass. A mask is built only when needed: padding, rows
    /// of different lengths, past keys with several new tokens, or eager attention over several tokens.
    /// </summary>
    private AttentionContext BuildContext(DbrxModelInput input, int batch, long tokens, AttentionImplementation implementation)
    {
        DbrxKvCache? cache = input.Cache;
        var past = new long[batch];
        for (int row = 0; row < batch && cache is not null; row++)
            past[row] = cache.Lengths[row];
        long maxPast = past.Max();
        long keyLength = maxPast + tokens;
        bool aligned = past.All(p => p == past[0]);

        var slots = new long[batch * tokens];
        for (int row = 0; row < batch; row++)
            for (long t = 0; t < tokens; t++)
                slots[row * tokens + t] = past[row] + t;
        Tensor device = input.InputIds ?? input.InputEmbeddings!;
        var cachePositions = tensor(slots, [batch, tokens], ScalarType.Int64, device.device);

        Tensor? padding = null;
        if (input.AttentionMask is { } mask)
        {
            using var keep = mask.to_type(ScalarType.Bool);
            if (!keep.all().item<bool>())
                padding = keep.view(batch, 1, 1, keyLength).to(device.device);
        }

        bool eager = implementation == AttentionImplementation.Eager || input.OutputAttentions;
        bool needsMask = padding is not null || !aligned || (tokens > 1 && (eager || maxPast > 0));
        Tensor? additive = null;
        if (needsMask)
        {
            using var scope = NewDisposeScope();
            var keys = arange(keyLength, ScalarType.Int64, device.device).view(1, 1, 1, keyLength);
            var allowed = keys <= cachePositions.view(batch, 1, tokens, 1);
            if (padding is not null)
                allowed = allowed.logical_and(padding);
            additive = zeros([batch, 1, tokens, keyLength], DType, device.device)
                .masked_fill(allowed.logical_not(), finfo(DType).min)
                .MoveToOuterDisposeScope();
        }
        padding?.Dispose();

        var positions = input.PositionIds ?? cachePositions;
        var (cos, sin) = RotaryEmbedding.CosSin(positions, Config.HeadDim, Config.Attention.RopeTheta, DType);
        return new AttentionContext
        {
            Cos = cos,
            Sin = sin,
            Mask = additive,
            IsCausal = !needsMask && tokens > 1,
            KeyLength = keyLength,
            Cache = cache,
            CachePositions = cachePositions,
            Implementation = implementation,
            OutputAttentions = input.OutputAttentions,
        };
    }
}
