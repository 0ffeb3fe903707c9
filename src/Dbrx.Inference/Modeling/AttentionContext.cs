using static TorchSharp.torch;

namespace Dbrx.Inference.Modeling;

/// <summary>
/// What every block's attention needs for one forward pass, computed once by <see cref="DbrxModel"/>: rotary cos/sin,
/// the mask, and where the new tokens go in the KV cache.
/// </summary>
internal sealed class AttentionContext : IDisposable
{
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

    /// <summary>Cache slot of each new token, <c>[B, T]</c> (row length + t).</summary>
    public required Tensor CachePositions { get; init; }

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
