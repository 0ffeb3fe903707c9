using Dbrx.Inference.Configuration;

namespace Dbrx.Inference.Checkpoints;

/// <summary>
/// The tensors a DBRX checkpoint stores for a configuration (float, or int4 with its scales and zeros), and the check
/// that a checkpoint holds exactly them before any weight is read.
/// </summary>
public static class DbrxCheckpointLayout
{
    /// <summary>
    /// The tensors a checkpoint stores: the float layout, or with <paramref name="quantization"/> each quantized tensor
    /// replaced by its qweight (U8), scales and zeros (BF16). A null dtype means the model's float dtype.
    /// </summary>
    public static IReadOnlyList<(string Name, long[] Shape, SafetensorsDType? DType)> Stored(DbrxConfig config, DbrxQuantization? quantization)
    {
        var stored = new List<(string, long[], SafetensorsDType?)>();
        foreach (DbrxTensorSpec spec in DbrxTensorLayout.For(config))
        {
            if (quantization is null || !quantization.Quantizes(spec.Name))
            {
                stored.Add((spec.Name, spec.Shape, null));
                continue;
            }
            var (rows, columns) = QuantizedOrientation(config, spec);
            var (qweight, scales, zeros) = DbrxQuantization.StoredNames(spec.Name);
            stored.Add((qweight, [rows, columns / 2], SafetensorsDType.U8));
            stored.Add((scales, [rows, columns / quantization.GroupSize], SafetensorsDType.BF16));
            stored.Add((zeros, [rows, columns / quantization.GroupSize], SafetensorsDType.BF16));
        }
        return stored;
    }

    /// <summary>
    /// Checks names and shapes before any data is read: every error is reported at once, naming tensors and files.
    /// The 3-D <c>[experts, ffn_hidden_size, d_model]</c> expert layout some converters write is accepted.
    /// </summary>
    public static void CheckMatches(DbrxConfig config, SafetensorsCheckpoint checkpoint, bool strict = true, DbrxQuantization? stored = null)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(checkpoint);
        var problems = new List<string>();
        var expected = Stored(config, stored);
        var names = expected.Select(s => s.Name).ToHashSet(StringComparer.Ordinal);
        foreach (var (name, shape, dtype) in expected)
        {
            if (!checkpoint.Contains(name))
            {
                problems.Add($"missing tensor '{name}' {SafetensorsTensorInfo.FormatShape(shape)}");
                continue;
            }
            SafetensorsTensorInfo info = checkpoint.Info(name);
            string file = Path.GetFileName(checkpoint.FileOf(name).Path);
            if (!ShapeMatches(name, shape, info.Shape, config))
                problems.Add($"tensor '{name}' in {file} has shape {info.ShapeText}, the model expects {SafetensorsTensorInfo.FormatShape(shape)}");
            else if (dtype is { } exact ? info.DType != exact : info.DType is not (SafetensorsDType.F32 or SafetensorsDType.BF16 or SafetensorsDType.F16 or SafetensorsDType.F64))
                problems.Add($"tensor '{name}' in {file} has dtype {info.DType}, expected {(dtype?.ToString() ?? "a floating-point type")}");
        }
        if (strict)
        {
            foreach (SafetensorsTensorInfo info in checkpoint.Tensors.OrderBy(t => t.Name, StringComparer.Ordinal))
            {
                // Old exports carry the rotary inverse frequencies as a buffer; the reference recomputes them too.
                if (!names.Contains(info.Name) && !info.Name.EndsWith("rotary_emb.inv_freq", StringComparison.Ordinal))
                    problems.Add($"unexpected tensor '{info.Name}' in {Path.GetFileName(checkpoint.FileOf(info.Name).Path)}");
            }
        }
        if (problems.Count > 0)
        {
            const int shown = 20;
            string list = string.Join("\n  ", problems.Take(shown)) + (problems.Count > shown ? $"\n  ... and {problems.Count - shown} more" : "");
            throw new CheckpointException($"Checkpoint '{checkpoint.Directory}' does not match its config (d_model {config.DModel}, n_layers {config.NLayers}, {config.Ffn.MoeNumExperts} experts):\n  {list}");
        }
    }

    private static bool ShapeMatches(string name, long[] expected, long[] actual, DbrxConfig config)
    {
        if (actual.SequenceEqual(expected))
            return true;
        return DbrxTensorLayout.IsExpertWeight(name) && actual.SequenceEqual(new long[] { config.Ffn.MoeNumExperts, config.Ffn.FfnHiddenSize, config.DModel });
    }

    /// <summary>A quantized tensor's linear orientation <c>[rows, columns]</c>: w2's experts are transposed to <c>[d, I]</c>.</summary>
    private static (long Rows, long Columns) QuantizedOrientation(DbrxConfig config, DbrxTensorSpec spec) =>
        DbrxTensorLayout.IsExpertW2(spec.Name)
            ? ((long)config.Ffn.MoeNumExperts * config.DModel, config.Ffn.FfnHiddenSize)
            : (spec.Shape[0], spec.Shape[1]);
}
