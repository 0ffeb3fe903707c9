namespace Dbrx.Inference.Generation.PrefixCache;

/// <summary>Where a prefix block's keys and values are kept.</summary>
internal enum PrefixTier
{
    /// <summary>On the model's devices, next to the KV cache: copied into a row at device speed.</summary>
    Device,

    /// <summary>In host memory (pinned on CUDA): where blocks displaced from the device go instead of being dropped.</summary>
    Host,
}
