using System.CommandLine;
using Dbrx.Cli;
using Dbrx.Cli.Commands;
using Dbrx.Inference.Runtime;

// Before anything touches TorchSharp: load a CUDA libtorch named by DBRX_LIBTORCH_DIR, if any.
_ = DbrxTorchRuntime.LoadedFrom;

var root = new RootCommand("dbrx: inspect, create and run DBRX checkpoints with Dbrx.Inference.")
{
    InitCommand.Create(),
    InfoCommand.Create(),
    LogitsCommand.Create(),
    TokenizeCommand.Tokenize(),
    TokenizeCommand.Detokenize(),
    TemplateCommand.Create(),
    GenerateCommand.Create(),
    ChatCommand.Create(),
    BenchCommand.Create(),
    BenchJsonCommand.Create(),
    QuantizeCommand.Create(),
    ServeCommand.Create(),
    GatewayCommand.Create(),
};
root.Options.Add(CliOptions.Verbose);
root.Options.Add(CliOptions.Quiet);
ParseResult parse = root.Parse(args);
if (parse.Errors.Count > 0 && !args.Any(a => a is "-h" or "--help" or "-?"))
{
    // One line, as for every other error, instead of the full help text: the first problem, the one a user fixes
    // first (an unknown word rather than "Required command was not provided", which follows from it).
    var error = parse.Errors.FirstOrDefault(e => e.Message.StartsWith("Unrecognized", StringComparison.Ordinal)) ?? parse.Errors[0];
    Console.Error.WriteLine($"dbrx: error: {string.Join(' ', error.Message.Split(['\n', '\r', '\t'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))}");
    Console.Error.WriteLine($"Run '{string.Join(' ', parse.CommandResult.Command.Parents.Reverse().Select(p => p.Name).Prepend("dbrx").Distinct().Append(parse.CommandResult.Command.Name).Distinct())} --help' for the options.");
    return 1;
}
// Ctrl+C is handled by the commands that generate (it stops the answer, not the process).
return await parse.InvokeAsync(new InvocationConfiguration { ProcessTerminationTimeout = null });
