using System.CommandLine;
using Dbrx.Inference.Configuration;
using Dbrx.Inference.Quantization;
using Dbrx.Inference.Runtime;

namespace Dbrx.Cli.Commands;

/// <summary><c>dbrx quantize</c>: writes an int4 copy of a checkpoint once, so later loads skip quantizing.</summary>
internal static class QuantizeCommand
{
    public static Command Create()
    {
        var model = CliOptions.Model();
        var output = new Option<DirectoryInfo>("--output", "-o") { Description = "Folder for the quantized checkpoint (must be empty or absent).", Required = true };
        var groupSize = new Option<int>("--group-size") { Description = "Weights per scale and zero: 32, 64, 128 or 256 (default: 128, or the largest below it that the model's widths allow).", DefaultValueFactory = _ => 128 };
        var modules = new Option<string>("--modules") { Description = "Quantized modules: experts (always), attention, lm_head, comma-separated.", DefaultValueFactory = _ => "experts" };
        var shard = new Option<string>("--max-shard-size") { Description = "Shard size of the output, e.g. 5GB.", DefaultValueFactory = _ => "5GB" };
        var device = new Option<string>("--device") { Description = "Where the arithmetic runs: cpu, or cuda / cuda:N (same result).", DefaultValueFactory = _ => "cpu" };
        var command = new Command("quantize", "Write an int4 copy of a checkpoint (safetensors plus a quantization_config in config.json).") { model, output, groupSize, modules, shard, device };
        command.SetAction(CliAction.Run(parse =>
        {
            string target = parse.GetValue(output)!.FullName;
            if (Directory.Exists(target) && Directory.EnumerateFileSystemEntries(target).Any())
                throw new IOException($"Output folder '{target}' is not empty; choose a new folder.");
            var quantization = DbrxQuantization.WithModules(parse.GetValue(modules)!, parse.GetValue(groupSize));
            if (parse.GetResult(groupSize) is null or { Implicit: true })
            {
                var fitted = quantization.WithLargestGroupSizeFor(DbrxConfigJson.Load(parse.GetValue(model)!.FullName));
                if (fitted.GroupSize != quantization.GroupSize)
                    Console.Error.WriteLine($"group size {quantization.GroupSize} does not divide this model's widths; using {fitted.GroupSize} (set --group-size to choose)");
                quantization = fitted;
            }
            var quantizeOn = DbrxDevices.ParseDevice(parse.GetValue(device)!);
            long shardBytes = ByteSize.Parse(parse.GetValue(shard)!, shard.Name);
            CliProgress.Run(parse, $"quantizing {string.Join(", ", quantization.Modules)} to int4 (group {quantization.GroupSize}) on {quantizeOn} into {target}",
                progress => DbrxQuantizer.Write(parse.GetValue(model)!.FullName, target, quantization, shardBytes, quantizeOn, progress));
            Console.WriteLine(target);
            return 0;
        }));
        return command;
    }
}
