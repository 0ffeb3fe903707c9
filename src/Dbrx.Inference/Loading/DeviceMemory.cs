using static TorchSharp.torch;

namespace Dbrx.Inference.Loading;

/// <summary>Free memory on one accelerator, for planning.</summary>
/// <param name="Device">The device.</param>
/// <param name="FreeBytes">Bytes free for the model, its KV cache and activations.</param>
public sealed record DeviceMemory(Device Device, long FreeBytes);
