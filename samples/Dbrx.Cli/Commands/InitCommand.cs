using System.CommandLine;
using System.Globalization;
using Dbrx.Inference.Configuration;
using Dbrx.Inference.Modeling;
using Dbrx.Inference.Runtime;
using static TorchSharp.torch;

namespace Dbrx.Cli.Commands;

/// <summary><c>dbrx init</c>: writes a DBRX checkpoint of any shape with the reference's random initialisation.</summary>
internal static class InitCommand
{
    public static Command Create()
    {
        var preset = new Option<string>("--preset") { Description = "Shape to create.", DefaultValueFactory = _ => "tiny" }
            .AcceptOnlyFromAmong([.. DbrxPresets.Names]);
        var config = new Option<FileInfo>("--config") { Description = "A config.json to use instead of a preset." };
        var seed = new Option<long>("--seed") { Description = "Seed of the random weights.", DefaultValueFactory = _ => 0 };
        var dtype = new Option<string>("--dtype") { Description = "float32, bfloat16 or float16 (default: the config's torch_dtype, else float32)." }
            .AcceptOnlyFromAmong("float32", "bfloat16", "float16");
        var output = new Option<DirectoryInfo>("--output", "-o") { Description = "Folder to write (must be empty or absent).", Required = true };
        var shard = new Option<string>("--max-shard-size") { Description = "Shard the weights above this size, e.g. 500MB or 5GB.", DefaultValueFactory = _ => "5GB" };

        var command = new Command("init", "Write a random DBRX checkpoint (config.json + safetensors) for tests, samples and benchmarks.")
        {
            preset, config, seed, dtype, output, shard,
        };
        command.SetAction(CliAction.Run(parse =>
        {
            DbrxConfig shape = parse.GetValue(config) is { } file ? DbrxConfigJson.Load(file.FullName) : DbrxPresets.Get(parse.GetValue(preset)!);
            ScalarType scalar = DbrxDevices.ParseDType(parse.GetValue(dtype) ?? shape.TorchDtype ?? "float32", CPU);
            string directory = parse.GetValue(output)!.FullName;
            long maxShard = ParseSize(parse.GetValue(shard)!);
            long bytes = DbrxRandomCheckpoint.ByteSize(shape, scalar);

            if (Directory.Exists(directory) && Directory.EnumerateFileSystemEntries(directory).Any())
                throw new IOException($"Output folder '{directory}' is not empty; choose a new folder.");
            string root = Path.GetPathRoot(directory) ?? "/";
            long free = new DriveInfo(root).AvailableFreeSpace;
            if (bytes > free * 0.95)
                throw new IOException($"This checkpoint needs {Format(bytes)} on disk but '{root}' has {Format(free)} free; nothing was written. Try --preset tiny, a smaller --config or --dtype bfloat16.");

            Console.Error.WriteLine($"writing {shape.ParameterCount:N0} parameters ({Format(bytes)}, {DbrxDevices.DTypeName(scalar)}, seed {parse.GetValue(seed)}) to {directory}");
            DbrxRandomCheckpoint.Write(shape, directory, parse.GetValue(seed), scalar, maxShard);
            Console.WriteLine(directory);
            return 0;
        }));
        return command;
    }

    /// <summary>Parses sizes like <c>500MB</c>, <c>5GB</c>, <c>1.5GiB</c> or a plain byte count.</summary>
    internal static long ParseSize(string text)
    {
        string t = text.Trim().ToUpperInvariant();
        (string suffix, double factor)[] units = [("GIB", 1L << 30), ("MIB", 1L << 20), ("KIB", 1L << 10), ("GB", 1e9), ("MB", 1e6), ("KB", 1e3), ("B", 1)];
        foreach (var (suffix, factor) in units)
        {
            if (t.EndsWith(suffix, StringComparison.Ordinal) && double.TryParse(t[..^suffix.Length], NumberStyles.Float, CultureInfo.InvariantCulture, out double value) && value > 0)
                return (long)(value * factor);
        }
        if (long.TryParse(t, NumberStyles.Integer, CultureInfo.InvariantCulture, out long bytes) && bytes > 0)
            return bytes;
        throw new ArgumentException($"--max-shard-size '{text}' is not a size; write it like 500MB or 5GB.");
    }

    internal static string Format(long bytes) => bytes switch
    {
        >= 1L << 30 => $"{bytes / (double)(1L << 30):F1} GiB",
        >= 1L << 20 => $"{bytes / (double)(1L << 20):F1} MiB",
        _ => $"{bytes / 1024.0:F1} KiB",
    };
}
