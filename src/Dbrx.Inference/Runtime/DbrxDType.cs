using static TorchSharp.torch;

namespace Dbrx.Inference.Runtime;

/// <summary>The dtype a model loads in, as a user chooses it.</summary>
public enum DbrxDType
{
    /// <summary>The checkpoint's <c>torch_dtype</c> on CUDA (bfloat16 when it does not say), float32 on the CPU.</summary>
    Auto,

    /// <summary>float32.</summary>
    Float32,

    /// <summary>bfloat16.</summary>
    BFloat16,

    /// <summary>float16.</summary>
    Float16,

    /// <summary>int4 weights (quantized while loading unless the checkpoint is), computing in bfloat16 on CUDA and float32 on the CPU.</summary>
    Int4,
}

/// <summary>Reading <see cref="DbrxDType"/> from the names users write, and resolving it for a device.</summary>
public static class DbrxDTypes
{
    /// <summary>The names <see cref="Parse"/> accepts.</summary>
    public static IReadOnlyList<string> Names { get; } = ["auto", "float32", "fp32", "bfloat16", "bf16", "float16", "fp16", "int4"];

    /// <summary>Reads a dtype name (case-insensitive, with the usual short forms).</summary>
    /// <exception cref="ArgumentException">Not a dtype name; the message lists the names.</exception>
    public static DbrxDType Parse(string? name) => (name ?? "auto").Trim().ToLowerInvariant() switch
    {
        "auto" => DbrxDType.Auto,
        "float32" or "fp32" or "float" => DbrxDType.Float32,
        "bfloat16" or "bf16" => DbrxDType.BFloat16,
        "float16" or "fp16" or "half" => DbrxDType.Float16,
        "int4" => DbrxDType.Int4,
        _ => throw new ArgumentException($"Unknown dtype '{name}'; use one of: {string.Join(", ", Names)}.", nameof(name)),
    };

    /// <summary>
    /// The activations' dtype on <paramref name="device"/>: <see cref="DbrxDType.Auto"/> is the checkpoint's
    /// <c>torch_dtype</c> on CUDA (bfloat16 when it does not say) and float32 on the CPU, where half precision is slow and
    /// inexact; int4 weights compute in bfloat16 on CUDA (the int4 kernel's dtype) and in float32 on the CPU.
    /// </summary>
    public static ScalarType Resolve(DbrxDType dtype, Device device, string? checkpointDType = null)
    {
        ArgumentNullException.ThrowIfNull(device);
        bool cuda = device.type == TorchSharp.DeviceType.CUDA;
        return dtype switch
        {
            DbrxDType.Auto when !cuda => ScalarType.Float32,
            DbrxDType.Auto => checkpointDType is null ? ScalarType.BFloat16 : Resolve(Parse(checkpointDType), device),
            DbrxDType.Float32 => ScalarType.Float32,
            DbrxDType.BFloat16 => ScalarType.BFloat16,
            DbrxDType.Float16 => ScalarType.Float16,
            DbrxDType.Int4 => cuda ? ScalarType.BFloat16 : ScalarType.Float32,
            _ => throw new ArgumentOutOfRangeException(nameof(dtype), dtype, null),
        };
    }
}
