using System.CommandLine;
using System.Text.Json.Nodes;
using Dbrx.Inference.Checkpoints;
using Dbrx.Inference.Configuration;
using Dbrx.Inference.Loading;
using TorchSharp;
using static TorchSharp.torch;

namespace Dbrx.Cli.Commands;

/// <summary>
/// <c>dbrx info</c>: what a model folder holds, checked against its config without loading the weights, and what it
/// needs in memory in bfloat16 and in int4, with the plan over given GPUs.
/// </summary>
internal static class InfoCommand
{
    public static Command Create()
    {
        var model = new Option<DirectoryInfo>("--model", "-m") { Description = "Model folder: config.json and safetensors weights." };
        var preset = new Option<string>("--preset") { Description = "Describe a preset shape instead of a folder (no weights needed)." }.AcceptOnlyFromAmong([.. DbrxPresets.Names]);
        var gpus = new Option<string>("--gpu-memory") { Description = "Plan the placement over GPUs of these free sizes, e.g. 80GB or 80GB,80GB." };
        var modules = new Option<string>("--int4-modules") { Description = "Modules counted as int4 in the int4 figures (default: a quantized folder's own, else all three).", DefaultValueFactory = _ => "experts,attention,lm_head" };
        var groupSize = new Option<int>("--int4-group-size") { Description = "Group size counted in the int4 figures (default: a quantized folder's own, else 128).", DefaultValueFactory = _ => 128 };
        var json = new Option<bool>("--json") { Description = "Print one JSON object instead of text." };
        var command = new Command("info", "Summarise a model folder or preset: config, parameter counts, dtype, files, memory needed (bf16 and int4) and a GPU plan.")
        {
            model, preset, gpus, modules, groupSize, json,
        };
        command.Validators.Add(result =>
        {
            if ((result.GetValue(model) is null) == (result.GetValue(preset) is null))
                result.AddError("Give exactly one of --model and --preset.");
        });
        command.SetAction(CliAction.Run(parse =>
        {
            string? directory = parse.GetValue(model)?.FullName;
            DbrxConfig config = directory is null ? DbrxPresets.Get(parse.GetValue(preset)!) : DbrxConfigJson.Load(directory);
            DbrxQuantization? stored = directory is null ? null : DbrxQuantization.FromConfigFile(directory);
            var result = new JsonObject
            {
                ["model"] = directory ?? parse.GetValue(preset),
                ["config"] = JsonNode.Parse(DbrxConfigJson.ToJson(config)),
                ["parameters"] = config.ParameterCount,
                ["active_parameters_per_token"] = config.ActiveParameterCount,
            };
            if (stored is not null)
                result["quantization_config"] = stored.ToJson();
            if (directory is not null)
            {
                using var checkpoint = SafetensorsCheckpoint.Open(directory);
                DbrxCheckpointLayout.CheckMatches(config, checkpoint, stored: stored);
                result["tensors"] = checkpoint.Tensors.Count();
                result["dtypes"] = new JsonObject(checkpoint.Tensors.GroupBy(t => t.DType).Select(g => KeyValuePair.Create(g.Key.ToString(), (JsonNode?)g.Count())));
                result["files"] = new JsonArray([.. checkpoint.Files.Select(f => (JsonNode)new JsonObject { ["name"] = Path.GetFileName(f.Path), ["bytes"] = f.FileLength })]);
            }

            // A quantized folder's figures are those of its own scheme unless the user asks about another.
            bool schemeGiven = parse.GetResult(modules) is { Implicit: false } || parse.GetResult(groupSize) is { Implicit: false };
            var int4 = stored is not null && !schemeGiven ? stored : DbrxQuantization.WithModules(parse.GetValue(modules)!, parse.GetValue(groupSize));
            var sizes = new JsonObject();
            var gpuList = parse.GetValue(gpus) is { } text
                ? text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select((size, i) => new DeviceMemory(new Device(DeviceType.CUDA, i), ByteSize.Parse(size, gpus.Name))).ToList()
                : null;
            string? int4Refused = null;
            try
            {
                int4.Validate(config);
            }
            catch (ArgumentException e)
            {
                int4Refused = e.Message;
            }
            foreach (var (name, quantization) in new (string, DbrxQuantization?)[] { ("bfloat16", null), ("int4", int4) })
            {
                if (quantization is not null && int4Refused is not null)
                {
                    sizes[name] = new JsonObject { ["unavailable"] = int4Refused };
                    continue;
                }
                var footprint = DbrxMemoryFootprint.Of(config, ScalarType.BFloat16, cacheRows: 1, cacheTokens: config.DefaultContextLength, quantization);
                var entry = new JsonObject
                {
                    ["weights_bytes"] = footprint.TotalBytes(config.NLayers) - config.NLayers * footprint.CacheBytesPerBlock,
                    ["kv_cache_bytes_per_sequence"] = config.NLayers * footprint.CacheBytesPerBlock,
                    ["kv_cache_sequence_tokens"] = config.DefaultContextLength,
                };
                if (gpuList is not null)
                {
                    var plan = DbrxPlacementPlanner.Plan(config.NLayers, footprint, gpuList);
                    entry["plan"] = plan.ToString();
                    entry["fits_gpus"] = plan.Devices.All(d => d.type == DeviceType.CUDA);
                }
                sizes[name] = entry;
            }
            result["memory"] = sizes;
            result["int4_counted"] = int4.ToJson();

            Console.WriteLine(parse.GetValue(json) ? CliJson.Format(result) : Text(config, result));
            return 0;
        }));
        return command;
    }

    private static string Text(DbrxConfig config, JsonObject result)
    {
        static string Size(JsonNode? bytes) => ByteSize.Format(bytes!.GetValue<long>());
        var lines = new List<string>
        {
            $"model        {result["model"]}",
            $"width        d_model {config.DModel}, {config.NHeads} heads of {config.HeadDim}, {config.Attention.KvNHeads} KV heads ({(config.Attention.KvNHeads == 1 ? "MQA" : config.KvGroups == 1 ? "MHA" : "GQA")})",
            $"depth        {config.NLayers} blocks, max_seq_len {config.MaxSeqLen}, vocab {config.VocabSize}",
            $"experts      {config.Ffn.MoeNumExperts} x ffn {config.Ffn.FfnHiddenSize}, top-{config.Ffn.MoeTopK}, {config.Ffn.ActivationName}, renormalise p = {config.Ffn.MoeNormalizeExpertWeights?.ToString() ?? "none"}",
            $"attention    rope_theta {config.Attention.RopeTheta}, clip_qkv {config.Attention.ClipQkv?.ToString() ?? "none"}",
            $"parameters   {config.ParameterCount:N0} total, {config.ActiveParameterCount:N0} active per token",
        };
        if (result["quantization_config"] is JsonObject q)
            lines.Add($"quantized    {q.ToJsonString()}");
        if (result["files"] is JsonArray files)
        {
            lines.Add($"dtype        {string.Join(", ", result["dtypes"]!.AsObject().Select(p => $"{p.Key} ({p.Value} tensors)"))}; config says {config.TorchDtype ?? "nothing"}");
            lines.Add($"files        {files.Count} ({ByteSize.Format(files.Sum(f => f!["bytes"]!.GetValue<long>()))}), {result["tensors"]} tensors, names and shapes match the config");
            lines.AddRange(files.Select(f => $"  {f!["name"],-40} {ByteSize.Format(f["bytes"]!.GetValue<long>()),12}"));
        }
        foreach (var (dtype, node) in result["memory"]!.AsObject())
        {
            if (node!["unavailable"] is { } reason)
            {
                lines.Add($"{dtype,-12} not possible for this shape: {reason}");
                continue;
            }
            string line = $"{dtype,-12} weights {Size(node!["weights_bytes"])}, KV cache {Size(node["kv_cache_bytes_per_sequence"])} per {node["kv_cache_sequence_tokens"]}-token sequence";
            if (node["plan"] is { } plan)
                line += $"\n             plan: {plan} ({(node["fits_gpus"]!.GetValue<bool>() ? "fits the GPUs" : "spills to the CPU")})";
            lines.Add(line);
        }
        lines.Add($"             (int4 figures count {string.Join(", ", result["int4_counted"]!["modules"]!.AsArray().Select(m => m!.GetValue<string>()))} at group {result["int4_counted"]!["group_size"]})");
        return string.Join('\n', lines);
    }
}
