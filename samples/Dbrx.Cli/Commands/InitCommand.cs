using System.CommandLine;
using Dbrx.Inference.Checkpoints;
using Dbrx.Inference.Configuration;
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
            ScalarType scalar = DbrxDTypes.Resolve(DbrxDTypes.Parse(parse.GetValue(dtype) ?? shape.TorchDtype ?? "float32"), CPU);
            string directory = parse.GetValue(output)!.FullName;
            long maxShard = ByteSize.Parse(parse.GetValue(shard)!, shard.Name);
            long bytes = DbrxRandomCheckpoint.ByteSize(shape, scalar);

            if (Directory.Exists(directory) && Directory.EnumerateFileSystemEntries(directory).Any())
                throw new IOException($"Output folder '{directory}' is not empty; choose a new folder.");
            string root = Path.GetPathRoot(directory) ?? "/";
            long free = new DriveInfo(root).AvailableFreeSpace;
            if (bytes > free * 0.95)
                throw new IOException($"This checkpoint needs {ByteSize.Format(bytes)} on disk but '{root}' has {ByteSize.Format(free)} free; nothing was written. Try --preset tiny or a smaller --config"
                    + (scalar == ScalarType.Float32 ? ", or --dtype bfloat16 (half the size)." : "."));

            CliProgress.Run(parse, $"writing {shape.ParameterCount:N0} parameters ({ByteSize.Format(bytes)}, {DbrxDevices.DTypeName(scalar)}, seed {parse.GetValue(seed)}) to {directory}",
                progress => DbrxRandomCheckpoint.Write(shape, directory, parse.GetValue(seed), scalar, maxShard, progress));
            Console.WriteLine(directory);
            return 0;
        }));
        return command;
    }
}
