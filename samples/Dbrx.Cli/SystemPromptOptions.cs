using System.CommandLine;
using Dbrx.Inference.Chat;

namespace Dbrx.Cli;

/// <summary><c>--system-prompt</c> and <c>--no-system-prompt</c>, and the system prompt they select (null: the default).</summary>
internal sealed class SystemPromptOptions
{
    public Option<string> SystemPrompt { get; } = new("--system-prompt") { Description = "The system prompt (default: dbrx-instruct's)." };
    public Option<bool> NoSystemPrompt { get; } = new("--no-system-prompt") { Description = "No system prompt at all." };

    public void AddTo(Command command)
    {
        command.Options.Add(SystemPrompt);
        command.Options.Add(NoSystemPrompt);
    }

    /// <summary>The system prompt as <see cref="DbrxChatTemplate.WithSystemPrompt"/> and the chat client's option read it: null is the default, empty is none.</summary>
    public string? Value(ParseResult parse) => parse.GetValue(NoSystemPrompt) ? "" : parse.GetValue(SystemPrompt);

    public DbrxChatTemplate Template(ParseResult parse) => DbrxChatTemplate.WithSystemPrompt(Value(parse));
}
