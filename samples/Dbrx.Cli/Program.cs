using System.CommandLine;
using Dbrx.Cli;
using Dbrx.Cli.Commands;

var root = new RootCommand("dbrx: inspect, create and run DBRX checkpoints with Dbrx.Inference.")
{
    InitCommand.Create(),
    InfoCommand.Create(),
    LogitsCommand.Create(),
};
root.Options.Add(CliOptions.Verbose);
return await root.Parse(args).InvokeAsync();
