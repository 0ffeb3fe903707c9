using System.CommandLine;
using Dbrx.Inference.Configuration;
using Dbrx.Inference.Generation;
using Dbrx.Inference.Loading;
using Dbrx.Inference.Modeling;
using Dbrx.Inference.Runtime;
using Dbrx.Inference.Tokenization;

namespace Dbrx.Cli;

/// <summary>The options that say which model to load and how: folder, device, dtype, attention, int4 scheme.</summary>
internal sealed class ModelOptions
{
    private static readonly DbrxLoadOptions Defaults = new();

    public Option<DirectoryInfo> Model { get; } = CliOptions.Model();
    public Option<string> Device { get; } = CliOptions.Device();
    public Option<string> DType { get; }
    public Option<string> Attention { get; } = CliOptions.Attention();
    public Option<int> Int4GroupSize { get; } = new("--int4-group-size") { Description = "With --dtype int4: weights per scale.", DefaultValueFactory = _ => Defaults.Int4.GroupSize };
    public Option<string> Int4Modules { get; } = new("--int4-modules") { Description = "With --dtype int4: experts (always), attention, lm_head, comma-separated.", DefaultValueFactory = _ => string.Join(',', Defaults.Int4.Modules) };
    public Option<string> ExpertDispatch { get; } = new Option<string>("--expert-dispatch")
    {
        Description = "How expert matmuls run: Auto (grouped on CUDA beyond one token), PerExpert or Grouped.",
        DefaultValueFactory = _ => Defaults.ExpertDispatch.ToString(),
    }.AcceptOnlyFromAmong(Enum.GetNames<ExpertDispatch>());

    /// <param name="defaultDType">The command's default for --dtype.</param>
    /// <param name="modelDescription">For commands where --model is optional (bench): what giving it means.</param>
    public ModelOptions(string defaultDType, string? modelDescription = null)
    {
        DType = CliOptions.DType(defaultDType);
        if (modelDescription is not null)
        {
            Model.Required = false;
            Model.Description = modelDescription;
        }
    }

    public void AddTo(Command command)
    {
        command.Options.Add(Model);
        command.Options.Add(Device);
        command.Options.Add(DType);
        command.Options.Add(Attention);
        command.Options.Add(Int4GroupSize);
        command.Options.Add(Int4Modules);
        command.Options.Add(ExpertDispatch);
    }

    public string Directory(ParseResult parse) => parse.GetValue(Model)!.FullName;

    /// <summary>The int4 scheme --int4-modules and --int4-group-size describe (used when --dtype is int4).</summary>
    public DbrxQuantization Quantization(ParseResult parse) => DbrxQuantization.WithModules(parse.GetValue(Int4Modules)!, parse.GetValue(Int4GroupSize));

    public AttentionImplementation AttentionImplementation(ParseResult parse) => AttentionImplementations.Parse(parse.GetValue(Attention)!);

    public ExpertDispatch Dispatch(ParseResult parse) => Enum.Parse<ExpertDispatch>(parse.GetValue(ExpertDispatch)!);

    /// <summary>
    /// Loads the model, planning memory for a KV cache of <paramref name="cacheRows"/> rows of <paramref name="cacheTokens"/>
    /// tokens. Progress shows on stderr (see <see cref="CliProgress"/>).
    /// </summary>
    public DbrxForCausalLM Load(ParseResult parse, int cacheRows, int? cacheTokens) =>
        CliProgress.Run(parse, $"loading {Directory(parse)}", progress => DbrxModelLoader.Load(Directory(parse), LoadOptions(parse, cacheRows, cacheTokens) with { Progress = progress }));

    /// <summary>The loader's options these flags describe: the one mapping from the command line to <see cref="DbrxLoadOptions"/>.</summary>
    public DbrxLoadOptions LoadOptions(ParseResult parse, int cacheRows, int? cacheTokens) => new()
    {
        Device = parse.GetValue(Device)!,
        DType = DbrxDTypes.Parse(parse.GetValue(DType)),
        Int4 = Quantization(parse),
        AttentionImplementation = AttentionImplementation(parse),
        ExpertDispatch = Dispatch(parse),
        PlanCacheRows = cacheRows,
        PlanCacheTokens = cacheTokens,
    };

    /// <summary>Loads the model and starts a generator that owns it, with the model folder's tokenizer.</summary>
    public DbrxGenerator StartGenerator(ParseResult parse, DbrxGeneratorOptions options)
    {
        // What would fail after minutes of loading fails now: the serving options and the device against the model's config.
        options.Validate(DbrxConfigJson.Load(Directory(parse)).MaxSeqLen);
        DbrxModelLoader.Plan(Directory(parse), LoadOptions(parse, options.MaxBatchSize, options.ContextLength));
        DbrxForCausalLM model = Load(parse, options.MaxBatchSize, options.ContextLength);
        try
        {
            return new DbrxGenerator(model, DbrxTokenizer.FromModelFolder(Directory(parse)), options, ownsModel: true);
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }
}
