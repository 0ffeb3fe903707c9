using System.CommandLine;
using Dbrx.Inference.Modeling;
using Dbrx.Inference.Runtime;

namespace Dbrx.Cli;

/// <summary>Options several commands share, declared once.</summary>
internal static class CliOptions
{
    public static readonly Option<bool> Verbose = new("--verbose", "-v")
    {
        Description = "Print stack traces with errors.",
        Recursive = true,
    };

    public static readonly Option<bool> Quiet = new("--quiet", "-q")
    {
        Description = "No progress on stderr while loading, writing or quantizing a checkpoint.",
        Recursive = true,
    };

    public static Option<DirectoryInfo> Model() => new("--model", "-m")
    {
        Description = "Model folder: config.json and safetensors weights (one file, or shards with model.safetensors.index.json).",
        Required = true,
    };

    public static Option<string> Device() => new("--device")
    {
        Description = "cpu, cuda, cuda:N or auto (CUDA when available).",
        DefaultValueFactory = _ => "auto",
    };

    public static Option<string> DType(string defaultValue) => new Option<string>("--dtype")
    {
        Description = $"Weight and activation dtype: {string.Join(", ", DbrxDTypes.Names)}.",
        DefaultValueFactory = _ => defaultValue,
    }.AcceptOnlyFromAmong([.. DbrxDTypes.Names]);

    public static Option<string> Attention() => new Option<string>("--attention")
    {
        Description = "Attention implementation: eager, sdpa or flash_attention_2.",
        DefaultValueFactory = _ => "sdpa",
    }.AcceptOnlyFromAmong([.. AttentionImplementations.Names]);

    public static Option<long[]> TokenIds(bool required) => new("--token-ids")
    {
        Description = "Token ids, comma- or space-separated: 1,2,3.",
        Required = required,
        CustomParser = result => TokenIdList.Parse(result),
    };
}
