using System.CommandLine;
using Dbrx.Inference.Checkpoints;
using Dbrx.Inference.Modeling;
using static TorchSharp.torch;

namespace Dbrx.Cli.Commands;

/// <summary><c>dbrx logits</c>: one forward pass, logits written as float32 safetensors for comparison with other implementations.</summary>
internal static class LogitsCommand
{
    public static Command Create()
    {
        var model = CliOptions.Model();
        var ids = CliOptions.TokenIds(required: true);
        var device = CliOptions.Device();
        var dtype = CliOptions.DType("float32");
        var attention = CliOptions.Attention();
        var output = new Option<FileInfo>("--output", "-o") { Description = "Safetensors file to write; holds 'logits', float32, [1, T, vocab].", Required = true };
        var command = new Command("logits", "Run one forward pass over token ids and save the logits.") { model, ids, device, dtype, attention, output };
        command.SetAction(CliAction.Run(parse =>
        {
            var options = new DbrxLoadOptions
            {
                Device = parse.GetValue(device)!,
                DType = parse.GetValue(dtype)!,
                AttentionImplementation = AttentionImplementations.Parse(parse.GetValue(attention)!),
            };
            using var loaded = DbrxModelLoader.Load(parse.GetValue(model)!.FullName, options);
            long[] tokens = parse.GetValue(ids)!;
            using var input = tensor(tokens, [1, tokens.Length], ScalarType.Int64);
            using var result = loaded.Forward(input);
            using var logits = result.Logits.to(ScalarType.Float32, CPU).contiguous();
            string path = parse.GetValue(output)!.FullName;
            using (var writer = SafetensorsWriter.Create(path, [("logits", SafetensorsDType.F32, logits.shape)]))
            {
                writer.WriteTensor(logits);
                writer.Complete();
            }
            Console.Error.WriteLine($"wrote logits [1, {tokens.Length}, {logits.shape[2]}] ({options.DType} on {loaded.Device}) to {path}");
            return 0;
        }));
        return command;
    }
}
