using System.CommandLine;
using System.Text.Json;
using System.Text.Json.Nodes;
using Dbrx.Inference.Checkpoints;
using Dbrx.Inference.Configuration;
using Dbrx.Inference.Modeling;

namespace Dbrx.Cli.Commands;

/// <summary><c>dbrx info</c>: what a model folder holds, checked against its config without loading the weights.</summary>
internal static class InfoCommand
{
    public static Command Create()
    {
        var model = CliOptions.Model();
        var json = new Option<bool>("--json") { Description = "Print one JSON object instead of text." };
        var command = new Command("info", "Summarise a model folder: config, parameter counts, dtype, files; checks names and shapes.") { model, json };
        command.SetAction(CliAction.Run(parse =>
        {
            string directory = parse.GetValue(model)!.FullName;
            DbrxConfig config = DbrxConfigJson.Load(directory);
            using var checkpoint = SafetensorsCheckpoint.Open(directory);
            DbrxModelLoader.CheckMatches(config, checkpoint);
            var dtypes = checkpoint.Tensors.GroupBy(t => t.DType).ToDictionary(g => g.Key.ToString(), g => g.Count());
            var files = checkpoint.Files.Select(f => (Name: Path.GetFileName(f.Path), f.FileLength)).ToList();

            if (parse.GetValue(json))
            {
                var result = new JsonObject
                {
                    ["model"] = directory,
                    ["config"] = JsonNode.Parse(DbrxConfigJson.ToJson(config)),
                    ["parameters"] = config.ParameterCount,
                    ["active_parameters_per_token"] = config.ActiveParameterCount,
                    ["tensors"] = checkpoint.Tensors.Count(),
                    ["dtypes"] = new JsonObject(dtypes.Select(p => KeyValuePair.Create(p.Key, (JsonNode?)p.Value))),
                    ["files"] = new JsonArray(files.Select(f => (JsonNode)new JsonObject { ["name"] = f.Name, ["bytes"] = f.FileLength }).ToArray()),
                };
                Console.WriteLine(result.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
                return 0;
            }

            Console.WriteLine($"model        {directory}");
            Console.WriteLine($"width        d_model {config.DModel}, {config.NHeads} heads of {config.HeadDim}, {config.Attention.KvNHeads} KV heads ({(config.Attention.KvNHeads == 1 ? "MQA" : config.KvGroups == 1 ? "MHA" : "GQA")})");
            Console.WriteLine($"depth        {config.NLayers} blocks, max_seq_len {config.MaxSeqLen}, vocab {config.VocabSize}");
            Console.WriteLine($"experts      {config.Ffn.MoeNumExperts} x ffn {config.Ffn.FfnHiddenSize}, top-{config.Ffn.MoeTopK}, {config.Ffn.ActivationName}, renormalise p = {config.Ffn.MoeNormalizeExpertWeights?.ToString() ?? "none"}");
            Console.WriteLine($"attention    rope_theta {config.Attention.RopeTheta}, clip_qkv {config.Attention.ClipQkv?.ToString() ?? "none"}");
            Console.WriteLine($"parameters   {config.ParameterCount:N0} total, {config.ActiveParameterCount:N0} active per token");
            Console.WriteLine($"dtype        {string.Join(", ", dtypes.Select(p => $"{p.Key} ({p.Value} tensors)"))}; config says {config.TorchDtype ?? "nothing"}");
            Console.WriteLine($"files        {files.Count} ({InitCommand.Format(files.Sum(f => f.FileLength))}), {checkpoint.Tensors.Count()} tensors, names and shapes match the config");
            foreach (var (name, length) in files)
                Console.WriteLine($"  {name,-40} {InitCommand.Format(length),12}");
            return 0;
        }));
        return command;
    }
}
