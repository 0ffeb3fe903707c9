using System.CommandLine;
using Dbrx.Inference.Chat;
using Dbrx.Inference.Configuration;
using Dbrx.Inference.Generation;

namespace Dbrx.Cli.Commands;

/// <summary><c>dbrx chat</c>: an interactive multi-turn chat in the terminal, streaming; Ctrl+C stops the current answer.</summary>
internal static class ChatCommand
{
    public static Command Create()
    {
        var model = new ModelOptions("auto");
        var sampling = new GenerationOptions();
        var systemPrompt = new SystemPromptOptions();
        var command = new Command("chat", "Chat with a model in the terminal. /reset starts over, /exit or Ctrl+D leaves, Ctrl+C stops an answer.");
        systemPrompt.AddTo(command);
        model.AddTo(command);
        sampling.AddTo(command);
        command.SetAction(CliAction.Run(async (parse, _) =>
        {
            DbrxGenerationOptions options = sampling.Build(parse);
            options.Validate(DbrxConfigJson.Load(model.Directory(parse)).VocabSize);   // before minutes of loading
            using DbrxGenerator generator = model.StartGenerator(parse, sampling.Generator(parse));
            DbrxChatTemplate template = systemPrompt.Template(parse);
            var history = new List<DbrxChatMessage>();
            Console.Error.WriteLine($"chatting with {model.Directory(parse)} ({generator.ContextLength}-token context). /reset, /exit; Ctrl+C stops an answer.");

            while (true)
            {
                Console.Write("\nyou> ");
                string? line = Console.ReadLine();
                if (line is null || line.Trim() == "/exit")
                    return 0;
                if (line.Trim() == "/reset")
                {
                    history.Clear();
                    Console.Error.WriteLine("(conversation cleared)");
                    continue;
                }
                if (line.Length == 0)
                    continue;
                history.Add(DbrxChatMessage.User(line));
                Console.Write("dbrx> ");
                var answer = new System.Text.StringBuilder();
                GenerationUpdate? last = null;
                using (var interrupt = new InterruptToCancel())
                {
                    try
                    {
                        await foreach (GenerationUpdate update in generator.GenerateChatStreamingAsync(history, options with { TruncatePromptFromLeft = true }, template, interrupt.Token))
                        {
                            Console.Write(update.Text);
                            answer.Append(update.Text);
                            last = update;
                        }
                    }
                    catch (ArgumentException e)
                    {
                        history.RemoveAt(history.Count - 1);
                        Console.Error.WriteLine($"\ndbrx: error: {e.Message}");
                        continue;
                    }
                }
                Console.WriteLine();
                if (last?.FinishReason is not null)
                    Console.Error.WriteLine(GenerateCommand.Summary(last));
                history.Add(DbrxChatMessage.Assistant(answer.ToString()));
            }
        }));
        return command;
    }
}
