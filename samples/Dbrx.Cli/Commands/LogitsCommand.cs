using System.CommandLine;
using Dbrx.Inference.Checkpoints;
using static TorchSharp.torch;

namespace Dbrx.Cli.Commands;

/// <summary><c>dbrx logits</c>: one forward pass, logits written as float32 safetensors for comparison with other implementations.</summary>
internal static class LogitsCommand
{
    public static Command Create()
    {
        var model = new ModelOptions("float32");
        var ids = CliOptions.TokenIds(required: true);
        var output = new Option<FileInfo>("--output", "-o") { Description = "Safetensors file to write; holds 'logits', float32, [1, T, vocab].", Required = true };
        var command = new Command("logits", "Run one forward pass over token ids and save the logits.") { ids, output };
        model.AddTo(command);
        command.SetAction(CliAction.Run(parse =>
        {
            long[] tokens = parse.GetValue(ids)!;
            using var loaded = model.Load(parse, cacheRows: 1, cacheTokens: tokens.Length);
            using var input = tensor(tokens, [1, tokens.Length], ScalarType.Int64);
            using var all = loaded.Forward(input, [0]);
            using var logits = all.to(ScalarType.Float32, CPU).contiguous();
            string path = parse.GetValue(output)!.FullName;
            using (var writer = SafetensorsWriter.Create(path, [("logits", SafetensorsDType.F32, logits.shape)]))
            {
                writer.WriteTensor(logits);
                writer.Complete();
            }
            // What loading cost the host: streaming keeps it near the model's host-side share plus one tensor.
            long peakHost = System.Diagnostics.Process.GetCurrentProcess().PeakWorkingSet64;
            Console.Error.WriteLine($"wrote logits [1, {tokens.Length}, {logits.shape[2]}] ({parse.GetValue(model.DType)} on {loaded.Device}) to {path}; peak host memory {peakHost >> 20} MiB");
            return 0;
        }));
        return command;
    }
}
