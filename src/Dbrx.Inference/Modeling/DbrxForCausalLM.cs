using Dbrx.Inference.Configuration;
using Dbrx.Inference.Quantization;
using Dbrx.Inference.Runtime;
using TorchSharp;
using static TorchSharp.torch;

namespace Dbrx.Inference.Modeling;

/// <summary>
/// DBRX with its language-model head, parameter for parameter the reference's <c>DbrxForCausalLM</c>
/// (<c>transformer.*</c> and <c>lm_head.weight</c>), so Hugging Face checkpoints load by name.
/// </summary>
/// <remarks>
/// Build one with <see cref="DbrxModelLoader"/> (from a checkpoint) or with the constructor (uninitialised weights,
/// for example on the meta device to inspect names and shapes without memory). Forward passes run in inference mode.
/// A model is not thread-safe: run it from one thread, as <c>DbrxGenerator</c> does.
/// </remarks>
public sealed class DbrxForCausalLM : nn.Module
{
    private readonly DbrxModel transformer;
    private readonly nn.Module<Tensor, Tensor> lmHead;

    /// <summary>Builds the model with uninitialised weights.</summary>
    /// <param name="config">A validated configuration.</param>
    /// <param name="dtype">Weight and activation dtype.</param>
    /// <param name="device">Where the weights live; <c>meta</c> allocates nothing.</param>
    /// <param name="attentionImplementation">How attention is computed by default.</param>
    /// <param name="expertDispatch">How expert matmuls are issued.</param>
    public DbrxForCausalLM(DbrxConfig config, ScalarType dtype, Device device, AttentionImplementation attentionImplementation = AttentionImplementation.Sdpa, ExpertDispatch expertDispatch = ExpertDispatch.Auto)
        : this(config, dtype, DbrxPlacement.OnDevice(device ?? throw new ArgumentNullException(nameof(device)), config?.NLayers ?? 0), attentionImplementation, expertDispatch)
    {
    }

    /// <summary>Builds the model with uninitialised weights spread over devices.</summary>
    /// <param name="config">A validated configuration.</param>
    /// <param name="dtype">Weight and activation dtype.</param>
    /// <param name="placement">Where the embedding, each block and the head live.</param>
    /// <param name="attentionImplementation">How attention is computed by default.</param>
    /// <param name="expertDispatch">How expert matmuls are issued.</param>
    /// <param name="quantization">Int4 weights for the experts (and optionally attention and lm_head), or null for float.</param>
    public DbrxForCausalLM(DbrxConfig config, ScalarType dtype, DbrxPlacement placement, AttentionImplementation attentionImplementation = AttentionImplementation.Sdpa, ExpertDispatch expertDispatch = ExpertDispatch.Auto, DbrxQuantization? quantization = null)
        : base(CheckedName())
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(placement);
        config.Validate();
        if (placement.Blocks.Count != config.NLayers)
            throw new ArgumentException($"The placement has {placement.Blocks.Count} blocks, the config {config.NLayers}.", nameof(placement));
        CheckSupported(dtype, placement, attentionImplementation, quantization);
        quantization?.Validate(config);
        Config = config;
        Quantization = quantization;
        AttentionImplementation = attentionImplementation;
        ExpertDispatch = expertDispatch;
        transformer = new DbrxModel(config, dtype, placement, expertDispatch, quantization);
        lmHead = DbrxLinear.Create(config.DModel, config.VocabSize, dtype, placement.Head, quantization is { LmHead: true } ? quantization : null);
        register_module("transformer", transformer);
        register_module("lm_head", lmHead);
    }

    /// <summary>The module's name, once TorchSharp is known to have a backend (the base constructor is its first use).</summary>
    private static string CheckedName()
    {
        Runtime.DbrxTorchRuntime.RequireBackend();
        return nameof(DbrxForCausalLM);
    }

    /// <summary>Refuses a dtype, attention implementation or int4 scheme the placement's devices cannot run.</summary>
    /// <exception cref="ArgumentException">The combination cannot run; the message names the option.</exception>
    public static void CheckSupported(ScalarType dtype, DbrxPlacement placement, AttentionImplementation attentionImplementation, DbrxQuantization? quantization)
    {
        ArgumentNullException.ThrowIfNull(placement);
        if (dtype is not (ScalarType.Float32 or ScalarType.BFloat16 or ScalarType.Float16))
            throw new ArgumentException($"dtype {dtype} is not supported; use float32, bfloat16 or float16.", nameof(dtype));
        if (attentionImplementation == AttentionImplementation.FlashAttention2 && (placement.Blocks.Any(d => d.type != DeviceType.CUDA) || dtype == ScalarType.Float32))
            throw new ArgumentException($"flash_attention_2 needs every block on a CUDA device and bfloat16 or float16 weights (here: {placement}, {dtype}); use sdpa or eager.", nameof(attentionImplementation));
        if (quantization is not null && placement.Devices.Any(d => d.type == DeviceType.CUDA) && dtype != ScalarType.BFloat16)
            throw new ArgumentException($"int4 weights on CUDA compute in bfloat16 (libtorch's int4 kernel), not {dtype}.", nameof(dtype));
    }

    /// <summary>The configuration the model was built from.</summary>
    public DbrxConfig Config { get; }

    /// <summary>The int4 quantization of the weights, or null for float weights.</summary>
    public DbrxQuantization? Quantization { get; }

    /// <summary>The weights' dtype.</summary>
    public ScalarType DType => transformer.DType;

    /// <summary>The device inputs go to (the embedding's).</summary>
    public Device Device => transformer.Placement.Embedding;

    /// <summary>Where the embedding, each block and the head live.</summary>
    public DbrxPlacement Placement => transformer.Placement;

    /// <summary>How attention is computed unless a pass asks for attention weights (which needs eager).</summary>
    public AttentionImplementation AttentionImplementation { get; }

    /// <summary>How expert matmuls are issued, as requested (see <see cref="Modeling.ExpertDispatch.Auto"/>; int4 experts always run one by one).</summary>
    public ExpertDispatch ExpertDispatch { get; }

    /// <summary>The int4 parts of the model by the float checkpoint tensor each replaces.</summary>
    internal IReadOnlyDictionary<string, IInt4Target> Int4Targets() =>
        // TorchSharp also lists modules under their C# field names after the registered ones: the first name is ours.
        named_modules()
            .Where(m => m.module is IInt4Target)
            .DistinctBy(m => m.module)
            .ToDictionary(m => ((IInt4Target)m.module).CheckpointName(m.name), m => (IInt4Target)m.module, StringComparer.Ordinal);

    /// <summary>Allocates a KV cache for this model.</summary>
    /// <param name="rows">Sequences it holds.</param>
    /// <param name="capacity">Tokens per sequence; defaults to the config's <c>max_seq_len</c>.</param>
    public DbrxKvCache CreateCache(int rows, int? capacity = null) =>
        new(Config, rows, capacity ?? Config.MaxSeqLen, DType, Placement.Blocks);

    /// <summary>
    /// The generation pass (gpt-fast's <c>forward(idx, input_pos)</c>): token ids <c>[B, T]</c>, row <c>b</c>'s at positions
    /// <c>start[b] + 0..T−1</c>, which are also their slots in row <c>b</c> of <paramref name="cache"/>; their keys and values
    /// are written there and each attends to its row's keys up to its own position. The cache's lengths are the
    /// caller's to commit (<see cref="DbrxKvCache.SetLength"/>). Returns the logits of token <c>logitsAt[b]</c> of each row,
    /// <c>[B, vocab]</c>, or of every token, <c>[B, T, vocab]</c>, when <paramref name="logitsAt"/> is null; the caller
    /// disposes them.
    /// </summary>
    /// <exception cref="ArgumentException">The ids or positions are malformed, or a token id is outside the vocabulary.</exception>
    public Tensor Forward(Tensor inputIds, IReadOnlyList<long> start, DbrxKvCache? cache = null, IReadOnlyList<int>? logitsAt = null)
    {
        using var mode = inference_mode();
        using var scope = NewDisposeScope();
        Tensor ids = CheckIds(inputIds);
        long tokens = ids.shape[1];
        CheckPositions(start, ids.shape[0], tokens, cache, logitsAt);
        using var context = AttentionContext.Create(Config, DType, start, tokens, Device, cache, AttentionImplementation);
        Tensor hidden = transformer.Blocks(transformer.Embed(ids), context);
        if (logitsAt is not null)
        {
            var index = tensor(logitsAt.Select(t => (long)t).ToArray(), ScalarType.Int64, hidden.device);
            hidden = hidden[RootedScalars.Arange(0, hidden.shape[0], 1, ScalarType.Int64, hidden.device), index];
        }
        return lmHead.forward(transformer.Norm(hidden)).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// The reference's <c>forward</c> with everything it can return, for parity tests and diagnostics: input ids or
    /// embeddings, a left-padding mask, rotary position ids, labels (loss), hidden states, attention weights, router
    /// probabilities and the load-balancing loss, logits for the last N positions. Runs the same blocks as
    /// <see cref="Forward(Tensor, IReadOnlyList{long}, DbrxKvCache?, IReadOnlyList{int}?)"/>; with a cache it appends to
    /// each row at its length and commits the new lengths, as the reference's cache does.
    /// </summary>
    /// <exception cref="ArgumentException">An input has the wrong shape or dtype, or a token id is outside the vocabulary.</exception>
    public DbrxCausalLMOutput ForwardDiagnostics(DbrxModelInput input)
    {
        ArgumentNullException.ThrowIfNull(input);
        bool routerOutputs = input.OutputRouterLogits ?? Config.OutputRouterLogits;
        using var mode = inference_mode();
        using var scope = NewDisposeScope();
        var prepared = Prepare(input);
        Tensor embeddings = prepared.InputEmbeddings ?? transformer.Embed(prepared.InputIds!);
        long batch = embeddings.shape[0], tokens = embeddings.shape[1];
        long[] start = [.. Enumerable.Range(0, (int)batch).Select(row => prepared.Cache?.Lengths[row] ?? 0)];
        var extras = new BlockExtras(
            prepared.OutputHiddenStates ? [] : null, prepared.OutputAttentions ? [] : null, routerOutputs ? [] : null);
        using var context = AttentionContext.Create(Config, DType, start, tokens, Device, prepared.Cache, AttentionImplementation,
            prepared.OutputAttentions, prepared.AttentionMask, prepared.PositionIds);
        Tensor last = transformer.Norm(transformer.Blocks(embeddings, context, extras));
        extras.HiddenStates?.Add(last);
        for (int row = 0; row < batch && prepared.Cache is { } cache; row++)
            cache.SetLength(row, start[row] + tokens);

        var kept = input.NumLogitsToKeep > 0 && input.NumLogitsToKeep < tokens ? last.narrow(1, tokens - input.NumLogitsToKeep, input.NumLogitsToKeep) : last;
        var logits = lmHead.forward(kept);

        Tensor? aux = null;
        if (routerOutputs)
        {
            using var currentMask = prepared.AttentionMask?.narrow(1, prepared.AttentionMask.shape[1] - tokens, tokens).to(Placement.Head);
            aux = DbrxLoadBalancingLoss.Compute(extras.RouterProbabilities!, Config.Ffn.MoeNumExperts, Config.Ffn.MoeTopK, currentMask);
        }
        Tensor? loss = null;
        if (prepared.Labels is { } labels)
        {
            loss = LanguageModelLoss(logits, labels);
            if (aux is not null)
            {
                using var weight = Config.Ffn.MoeLossWeight.ToScalar();
                loss = loss.add(aux.mul(weight), RootedScalars.One);
            }
        }

        var output = new DbrxCausalLMOutput
        {
            Logits = logits,
            LastHiddenState = last,
            HiddenStates = extras.HiddenStates,
            Attentions = extras.Attentions,
            RouterLogits = extras.RouterProbabilities,
            Loss = loss,
            AuxLoss = aux,
        };
        scope.MoveToOuter(new Tensor?[] { logits, last, loss, aux }
            .Concat(extras.HiddenStates ?? []).Concat(extras.Attentions ?? []).Concat(extras.RouterProbabilities ?? [])
            .Where(t => t is not null).Distinct().Cast<IDisposable>());
        return output;
    }

    /// <summary>
    /// Mean next-token cross-entropy in float32: position t predicts label t+1; −100 is ignored
    /// (the reference's <c>ForCausalLMLoss</c>).
    /// </summary>
    private static Tensor LanguageModelLoss(Tensor logits, Tensor labels)
    {
        long tokens = logits.shape[1], vocab = logits.shape[2];
        var predicted = logits.narrow(1, 0, tokens - 1).to_type(ScalarType.Float32).reshape(-1, vocab);
        var targets = labels.narrow(1, 1, tokens - 1).reshape(-1);
        return nn.functional.cross_entropy(predicted, targets, ignore_index: -100);
    }

    /// <summary>Checks token ids at the edge: <c>[batch, tokens]</c>, integers, inside the vocabulary; returns them as int64 on the model's device.</summary>
    private Tensor CheckIds(Tensor ids)
    {
        ArgumentNullException.ThrowIfNull(ids);
        if (ids.dim() != 2)
            throw new ArgumentException($"InputIds must be [batch, tokens], not {Shape(ids)}.", nameof(ids));
        if (ids.dtype is not (ScalarType.Int64 or ScalarType.Int32))
            throw new ArgumentException($"InputIds must be int64, not {ids.dtype}.", nameof(ids));
        if (ids.shape[1] == 0)
            throw new ArgumentException("The input has no tokens.", nameof(ids));
        // One read of both bounds: ids on a GPU cost one sync, not two.
        using (var bounds = stack([ids.min(), ids.max()]).to_type(ScalarType.Int64).cpu())
        {
            long min = bounds.data<long>()[0], max = bounds.data<long>()[1];
            if (min < 0 || max >= Config.VocabSize)
                throw new ArgumentException($"Token id {(min < 0 ? min : max)} is outside the model's vocabulary of {Config.VocabSize} ids (0..{Config.VocabSize - 1}).", nameof(ids));
        }
        return ids.to(ScalarType.Int64, Device);
    }

    /// <summary>Checks that each row's positions fit the model and the cache, and that the logits asked for exist.</summary>
    private void CheckPositions(IReadOnlyList<long> start, long batch, long tokens, DbrxKvCache? cache, IReadOnlyList<int>? logitsAt)
    {
        ArgumentNullException.ThrowIfNull(start);
        if (start.Count != batch)
            throw new ArgumentException($"Give one start position per row: {batch} rows, {start.Count} positions.", nameof(start));
        if (start.Any(p => p < 0) || start.Max() + tokens > Config.MaxSeqLen)
            throw new ArgumentException($"The sequence would reach {start.Max() + tokens} tokens, beyond the model's max_seq_len of {Config.MaxSeqLen}.", nameof(start));
        cache?.EnsureRoom(start, tokens);
        if (logitsAt is not null && (logitsAt.Count != batch || logitsAt.Any(t => t < 0 || t >= tokens)))
            throw new ArgumentException($"LogitsAt needs one token index in 0..{tokens - 1} per row ({batch} rows).", nameof(logitsAt));
    }

    /// <summary>Checks the diagnostic inputs at the edge, with messages that name the input and the values at fault.</summary>
    private DbrxModelInput Prepare(DbrxModelInput input)
    {
        if ((input.InputIds is null) == (input.InputEmbeddings is null))
            throw new ArgumentException("Pass exactly one of InputIds and InputEmbeddings.", nameof(input));
        if (input.NumLogitsToKeep < 0)
            throw new ArgumentException($"NumLogitsToKeep must be non-negative, not {input.NumLogitsToKeep}.", nameof(input));

        Tensor? ids = input.InputIds is null ? null : CheckIds(input.InputIds);
        long batch, tokens;
        if (ids is not null)
        {
            (batch, tokens) = (ids.shape[0], ids.shape[1]);
        }
        else
        {
            var embeddings = input.InputEmbeddings!;
            if (embeddings.dim() != 3 || embeddings.shape[2] != Config.DModel)
                throw new ArgumentException($"InputEmbeddings must be [batch, tokens, {Config.DModel}], not {Shape(embeddings)}.", nameof(input));
            (batch, tokens) = (embeddings.shape[0], embeddings.shape[1]);
            if (tokens == 0)
                throw new ArgumentException("The input has no tokens.", nameof(input));
        }
        if (input.NumLogitsToKeep > 0 && input.Labels is not null)
            throw new ArgumentException("Labels need the logits of every position; do not combine them with NumLogitsToKeep.", nameof(input));

        long[] start = [.. Enumerable.Range(0, (int)batch).Select(row => input.Cache is { } c && row < c.Rows ? c.Lengths[row] : 0)];
        if (input.Cache is { } cache)
            cache.EnsureRoom(start, tokens);
        long past = start.Max();
        if (past + tokens > Config.MaxSeqLen)
            throw new ArgumentException($"The sequence would reach {past + tokens} tokens, beyond the model's max_seq_len of {Config.MaxSeqLen}.", nameof(input));
        RequireShape(input.AttentionMask, "AttentionMask", batch, past + tokens);
        RequireShape(input.PositionIds, "PositionIds", batch, tokens);
        RequireShape(input.Labels, "Labels", batch, tokens);

        return new DbrxModelInput
        {
            InputIds = ids,
            InputEmbeddings = input.InputEmbeddings?.to(DType, Device),
            AttentionMask = input.AttentionMask?.to(Device),
            PositionIds = input.PositionIds?.to(ScalarType.Int64, Device),
            Cache = input.Cache,
            Labels = input.Labels?.to(ScalarType.Int64, Placement.Head),
            OutputHiddenStates = input.OutputHiddenStates,
            OutputAttentions = input.OutputAttentions,
            OutputRouterLogits = input.OutputRouterLogits,
            NumLogitsToKeep = input.NumLogitsToKeep,
        };
    }

    private static void RequireShape(Tensor? tensor, string name, long batch, long length)
    {
        if (tensor is not null && (tensor.dim() != 2 || tensor.shape[0] != batch || tensor.shape[1] != length))
            throw new ArgumentException($"{name} must be [{batch}, {length}], not {Shape(tensor)}.", name);
    }

    private static string Shape(Tensor t) => "[" + string.Join(", ", t.shape) + "]";
}
