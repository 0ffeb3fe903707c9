using Dbrx.Inference.Configuration;
using Dbrx.Inference.Runtime;
using TorchSharp;
using static TorchSharp.torch;

namespace Dbrx.Inference.Modeling;

/// <summary>
/// What every block's attention needs for one forward pass, computed once per pass from where the tokens sit: rotary
/// cos/sin, the mask, and where the new tokens go in the KV cache.
/// </summary>
internal sealed class AttentionContext : IDisposable
{
    /// <summary>
    /// The context for a pass over <paramref name="tokens"/> new tokens per row, row <c>b</c>'s at positions
    /// <c>start[b] + 0..T−1</c> (which are also their cache slots, and the keys before them are that row's past). A mask
    /// is built only when needed: padding, rows at different positions, past keys with several new tokens, or eager
    /// attention over several tokens; otherwise causal order alone decides (or, for one token, every key is visible).
    /// </summary>
    /// <param name="config">The model's configuration (head size, rotary base).</param>
    /// <param name="dtype">The activations' dtype, for cos/sin and the mask.</param>
    /// <param name="start">Each row's first position.</param>
    /// <param name="tokens">New tokens per row.</param>
    /// <param name="device">Where the tensors go (the embedding's device; blocks elsewhere get copies).</param>
    /// <param name="cache">The cache the pass writes, or null.</param>
    /// <param name="implementation">How attention is computed.</param>
    /// <param name="outputAttentions">Return attention probabilities (eager attention for the pass).</param>
    /// <param name="padding">The reference's left-padding mask, <c>[B, start + T]</c> (diagnostics only).</param>
    /// <param name="rotaryPositions">Rotary positions other than the slots, <c>[B, T]</c> (diagnostics only).</param>
    public static AttentionContext Create(DbrxConfig config, ScalarType dtype, IReadOnlyList<long> start, long tokens, Device device, DbrxKvCache? cache,
        AttentionImplementation implementation, bool outputAttentions = false, Tensor? padding = null, Tensor? rotaryPositions = null)
    {
        int batch = start.Count;
        long firstStart = start[0], maxStart = start.Max();
        long keyLength = maxStart + tokens;
        bool aligned = start.All(p => p == firstStart);

        var slots = new long[batch * tokens];
        for (int row = 0; row < batch; row++)
            for (long t = 0; t < tokens; t++)
                slots[row * tokens + t] = start[row] + t;
        var cachePositions = tensor(slots, [batch, tokens], ScalarType.Int64, device);

        Tensor? keep = null;
        if (padding is not null)
        {
            using var asBool = padding.to_type(ScalarType.Bool);
            if (!asBool.all().item<bool>())
                keep = asBool.view(batch, 1, 1, keyLength).to(device);
        }

        bool eager = implementation == AttentionImplementation.Eager || outputAttentions;
        bool needsMask = keep is not null || !aligned || (tokens > 1 && (eager || maxStart > 0));
        Tensor? additive = null;
        if (needsMask)
        {
            using var scope = NewDisposeScope();
            var keys = RootedScalars.Arange(0, keyLength, 1, ScalarType.Int64, device).view(1, 1, 1, keyLength);
            var allowed = keys <= cachePositions.view(batch, 1, tokens, 1);
            if (keep is not null)
                allowed = allowed.logical_and(keep);
            using var lowest = finfo(dtype).min.ToScalar();
            additive = zeros([batch, 1, tokens, keyLength], dtype, device)
                .masked_fill(allowed.logical_not(), lowest)
                .MoveToOuterDisposeScope();
        }
        keep?.Dispose();

        var (cos, sin) = RotaryEmbedding.CosSin(rotaryPositions ?? cachePositions, config.HeadDim, config.Attention.RopeTheta, dtype);
        return new AttentionContext
        {
            Cos = cos,
            Sin = sin,
            Mask = additive,
            IsCausal = !needsMask && tokens > 1,
            KeyLength = keyLength,
            Cache = cache,
            CachePositions = cachePositions,
            AlignedStart = aligned ? firstStart : null,
            Implementation = implementation,
            OutputAttentions = outputAttentions,
        };
    }

    public required Tensor Cos { get; init; }
    public required Tensor Sin { get; init; }

    /// <summary>
    /// Additive mask <c>[B, 1, T, keyLength]</c> in the activation dtype: 0 where a query may attend, the dtype's
    /// minimum elsewhere (as the reference, so a fully masked padding row stays finite). Null when causal order
    /// alone decides (<see cref="IsCausal"/>) or when every key is visible (a decode step without padding).
    /// </summary>
    public Tensor? Mask { get; init; }

    /// <summary>True when no mask is given and the T new tokens attend causally among themselves, with no past keys.</summary>
    public bool IsCausal { get; init; }

    /// <summary>Keys each query row spans: past length plus new tokens (the longest row's, for a batch).</summary>
    public long KeyLength { get; init; }

    /// <summary>The cache written by this pass, or null.</summary>
    public DbrxKvCache? Cache { get; init; }

    /// <summary>Cache slot of each new token, <c>[B, T]</c> (the row's start + t).</summary>
    public required Tensor CachePositions { get; init; }

    /// <summary>The rows' common start when every row starts at the same position (the cache writes one slice then).</summary>
    public long? AlignedStart { get; init; }

    public AttentionImplementation Implementation { get; init; }

    public bool OutputAttentions { get; init; }

    private readonly Dictionary<string, AttentionContext> copies = [];

    /// <summary>This context with its tensors on <paramref name="device"/>, for a block placed there (copied once per pass).</summary>
    public AttentionContext On(Device device)
    {
        if (Cos.device == device)
            return this;
        string key = device.ToString();
        if (!copies.TryGetValue(key, out AttentionContext? copy))
        {
            copy = new AttentionContext
            {
                Cos = Cos.to(device).DetachFromDisposeScope(),
                Sin = Sin.to(device).DetachFromDisposeScope(),
                Mask = Mask?.to(device).DetachFromDisposeScope(),
                IsCausal = IsCausal,
                KeyLength = KeyLength,
                Cache = Cache,
                CachePositions = CachePositions.to(device).DetachFromDisposeScope(),
                AlignedStart = AlignedStart,
                Implementation = Implementation,
                OutputAttentions = OutputAttentions,
            };
            copies[key] = copy;
        }
        return copy;
    }

    public void Dispose()
    {
        foreach (AttentionContext copy in copies.Values)
            copy.Dispose();
        Cos.Dispose();
        Sin.Dispose();
        Mask?.Dispose();
        CachePositions.Dispose();
    }
}
