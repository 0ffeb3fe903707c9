using System.CommandLine;
using Dbrx.Inference.Modeling;

namespace Dbrx.Cli;

/// <summary>The options that say which model to load and how: folder, device, dtype, attention.</summary>
internal sealed class ModelOptions
{
    public Option<DirectoryInfo> Model { get; } = CliOptions.Model();
    public Option<string> Device { get; } = CliOptions.Device();
    public Option<string> DType { get; }
    public Option<string> Attention { get; } = CliOptions.Attention();

    public ModelOptions(string defaultDType) => DType = CliOptions.DType(defaultDType);

    public void AddTo(Command command)
    {
        command.Options.Add(Model);
        command.Options.Add(Device);
        command.Options.Add(DType);
        command.Options.Add(Attention);
    }

    public string Directory(ParseResult parse) => parse.GetValue(Model)!.FullName;

    public DbrxForCausalLM Load(ParseResult parse) => DbrxModelLoader.Load(Directory(parse), new DbrxLoadOptions
    {
        Device = parse.GetValue(Device)!,
        DType = parse.GetValue(DType)!,
        AttentionImplementation = AttentionImplementations.Parse(parse.GetValue(Attention)!),
    });
}
