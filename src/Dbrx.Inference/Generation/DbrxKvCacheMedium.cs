namespace Dbrx.Inference.Generation;

/// <summary>Where prefix-cache blocks are kept (<see cref="DbrxGeneratorOptions.PrefixCacheBytes"/>, <see cref="DbrxGeneratorOptions.HostPrefixCacheBytes"/>).</summary>
public enum DbrxKvCacheMedium
{
    /// <summary>On the model's devices, next to the KV cache: copied into a row at device speed (llm-d's and vLLM's <c>GPU</c> medium).</summary>
    Device,

    /// <summary>In host memory, pinned on CUDA: where blocks displaced from the devices go instead of being dropped (their <c>CPU</c> medium).</summary>
    Host,
}
