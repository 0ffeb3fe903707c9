using Dbrx.Inference.Configuration;
using Dbrx.Inference.Modeling;
using Dbrx.Inference.Runtime;
using static TorchSharp.torch;

namespace Dbrx.Inference.Checkpoints;

/// <summary>
/// Writes DBRX checkpoints of any shape with the reference's random initialisation, laid out as Hugging Face writes
/// them (<c>config.json</c>, then one safetensors file or shards with an index). Tensors are drawn and written chunk by
/// chunk, so memory stays small whatever the model size.
/// </summary>
public static class DbrxRandomCheckpoint
{
    /// <summary>Bytes a checkpoint of this configuration occupies in <paramref name="dtype"/>.</summary>
    public static long ByteSize(DbrxConfig config, ScalarType dtype) =>
        config.ParameterCount * SafetensorsDTypes.FromScalarType(dtype).Size();

    /// <summary>
    /// The folder of the tiny random model the samples use offline, written on first use under the user's local
    /// application data (<c>dbrx/tiny-random</c>), as <c>dbrx init --preset tiny --seed 0</c> writes it.
    /// </summary>
    public static string EnsureTinySample()
    {
        string directory = Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.LocalApplicationData, Environment.SpecialFolderOption.Create), "dbrx", "tiny-random");
        if (File.Exists(Path.Combine(directory, DbrxConfigJson.FileName)) && File.Exists(Path.Combine(directory, SafetensorsCheckpoint.SingleFileName)))
            return directory;
        string partial = directory + ".partial-" + Environment.ProcessId;
        Write(DbrxPresets.Tiny, partial, seed: 0, ScalarType.Float32);
        try
        {
            Directory.Move(partial, directory);
        }
        catch (IOException) when (File.Exists(Path.Combine(directory, DbrxConfigJson.FileName)))
        {
            // Another process finished first; its copy is identical.
            Directory.Delete(partial, recursive: true);
        }
        return directory;
    }

    /// <summary>Writes a random checkpoint into <paramref name="directory"/> (created if needed).</summary>
    /// <param name="config">The model's shape; its <c>torch_dtype</c> is set to <paramref name="dtype"/>.</param>
    /// <param name="directory">The output folder.</param>
    /// <param name="seed">Seed of the initialisation; the same seed gives the same weights.</param>
    /// <param name="dtype">float32, bfloat16 or float16.</param>
    /// <param name="maxShardBytes">Shard size limit; the default writes a single <c>model.safetensors</c>.</param>
    /// <param name="progress">Receives the progress after each tensor.</param>
    public static void Write(DbrxConfig config, string directory, long seed, ScalarType dtype, long maxShardBytes = long.MaxValue, IProgress<DbrxTensorProgress>? progress = null)
    {
        DbrxTorchRuntime.RequireBackend();
        ArgumentNullException.ThrowIfNull(config);
        ArgumentException.ThrowIfNullOrEmpty(directory);
        config.Validate();
        var stored = config with { TorchDtype = DbrxDevices.DTypeName(dtype) };
        var safetensorsDType = SafetensorsDTypes.FromScalarType(dtype);
        var layout = DbrxTensorLayout.For(stored);
        Directory.CreateDirectory(directory);
        File.WriteAllText(Path.Combine(directory, DbrxConfigJson.FileName), DbrxConfigJson.ToJson(stored));

        using var initializer = new DbrxInitializer(stored, seed);
        using var writer = new SafetensorsCheckpointWriter(directory, layout.Select(s => (s.Name, safetensorsDType, s.Shape)).ToList(), maxShardBytes);
        long total = layout.Sum(s => s.ElementCount) * safetensorsDType.Size(), done = 0;
        int count = 0;
        foreach (DbrxTensorSpec spec in layout)
        {
            foreach (Tensor chunk in initializer.Chunks(spec, dtype))
                writer.WriteBytes(chunk.bytes);
            done += spec.ElementCount * safetensorsDType.Size();
            progress?.Report(new DbrxTensorProgress(++count, layout.Count, done, total, spec.Name, "cpu"));
        }
        writer.Complete();
    }
}
