using System.CommandLine;
using Dbrx.Inference.Chat;

namespace Dbrx.Cli;

/// <summary><c>--system-prompt</c> and <c>--no-system-prompt</c>, and the chat template they select.</summary>
internal sealed class SystemPromptOptions
{
    public Option<string> SystemPrompt { get; } = new("--system-prompt") { Description = "The system prompt (default: dbrx-instruct's)." };
    public Option<bool> NoSystemPrompt { get; } = new("--no-system-prompt") { Description = "No system prompt at all." };

    public void AddTo(Command command)
    {
        command.Options.Add(SystemPrompt);
        command.Options.Add(NoSystemPrompt);
    }

    public DbrxChatTemplate Template(ParseResult parse) => new()
    {
        SystemPrompt = parse.GetValue(NoSystemPrompt) ? null : parse.GetValue(SystemPrompt) ?? DbrxChatTemplate.DefaultSystemPrompt,
    };
}
