using System.CommandLine;
using System.Text.Json;
using Dbrx.Inference.Chat;
using Dbrx.Inference.Tokenization;

namespace Dbrx.Cli.Commands;

/// <summary><c>dbrx template</c>: a conversation rendered with DBRX's chat template, as text or token ids.</summary>
internal static class TemplateCommand
{
    private sealed record Message(string Role, string Content);

    public static Command Create()
    {
        var messages = new Option<string>("--messages") { Description = "The conversation as JSON: [{\"role\": \"user\", \"content\": \"Hi\"}], or @file.json.", Required = true };
        var noPrompt = new Option<bool>("--no-generation-prompt") { Description = "Leave out the assistant turn's opening." };
        var ids = new Option<bool>("--ids") { Description = "Print the token ids (comma-separated) instead of the text." };
        var systemPrompt = new SystemPromptOptions();
        var command = new Command("template", "Render a conversation with dbrx-instruct's chat template.") { messages, noPrompt, ids };
        systemPrompt.AddTo(command);
        command.SetAction(CliAction.Run(parse =>
        {
            string text = parse.GetValue(messages)!;
            if (text.StartsWith('@'))
                text = File.ReadAllText(text[1..]);
            List<Message> list;
            try
            {
                list = JsonSerializer.Deserialize<List<Message>>(text, new JsonSerializerOptions { PropertyNameCaseInsensitive = true }) ?? [];
            }
            catch (JsonException e)
            {
                throw new ArgumentException($"--messages is not a JSON list of {{\"role\", \"content\"}} objects: {e.Message}", e);
            }
            if (list.Any(m => m.Role is null || m.Content is null))
                throw new ArgumentException("--messages: every message needs a role and a content.");
            var conversation = list.Select(m => new DbrxChatMessage(m.Role, m.Content)).ToList();
            DbrxChatTemplate template = systemPrompt.Template(parse);
            bool generationPrompt = !parse.GetValue(noPrompt);
            if (parse.GetValue(ids))
                Console.WriteLine(string.Join(",", template.Encode(conversation, generationPrompt, DbrxTokenizer.Default)));
            else
                Console.Write(template.Render(conversation, generationPrompt));
            return 0;
        }));
        return command;
    }
}
