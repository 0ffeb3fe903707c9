using System.CommandLine;

namespace Dbrx.Rag.Commands;

/// <summary>The options several commands share.</summary>
internal static class RagOptions
{
    public static readonly Option<FileInfo> Index = new("--index")
    {
        Description = $"The index file (SQLite). Default: {RagSetup.DefaultIndexPath}, your documents as ingest writes them; until it exists, ask and chat use the shipped corpus's own index ({RagSetup.CorpusIndexPath}).",
    };

    public static readonly Option<DirectoryInfo> Model = new("--model")
    {
        Description = "A DBRX model folder (config.json + safetensors). Default: a tiny random DBRX, created on first run (its answers are noise).",
    };

    public static readonly Option<string> Device = new("--device") { Description = "cpu, cuda, cuda:N or auto.", DefaultValueFactory = _ => "auto" };

    public static readonly Option<string> Way = new Option<string>("--way")
    {
        Description = "tool: the model calls a search tool (the AI Chat Web App template's way); agent: an Agent Framework agent whose TextSearchProvider adds the passages before each run.",
        DefaultValueFactory = _ => "tool",
    }.AcceptOnlyFromAmong("tool", "agent");

    public static readonly Option<bool> Json = new("--json") { Description = "Answer as JSON, {\"answer\", \"citations\": [{\"source\", \"chunk\"}]}, constrained to cite only retrieved passages (tool way)." };

    public static readonly Option<int> Top = new("--top") { Description = "Passages retrieved per search.", DefaultValueFactory = _ => 5 };

    public static readonly Option<int> MaxTokens = new("--max-tokens") { Description = "Most tokens per answer.", DefaultValueFactory = _ => 256 };

    public static readonly Option<float?> Temperature = new("--temperature") { Description = "Sampling temperature (0 is greedy; default 0.7)." };

    public static readonly Option<long?> Seed = new("--seed") { Description = "Sampling seed." };

    public static readonly Option<bool> Verbose = new("--verbose") { Description = "Print the stack trace of errors.", Recursive = true };
}
