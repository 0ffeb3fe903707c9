using System.CommandLine;
using Dbrx.Extensions.AI;
using Dbrx.Inference.Configuration;
using Dbrx.Inference.Generation;
using Microsoft.Extensions.AI;

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
            // The same path as every IChatClient user: the chat client's mapper renders the conversation (system prompt
            // rules, template) and its oldest exchanges are left out when a long chat no longer fits.
            using var client = new DbrxChatClient(generator, new DbrxChatClientOptions
            {
                SystemPrompt = systemPrompt.Value(parse),
                DefaultMaxOutputTokens = options.MaxNewTokens,
                DropOldestMessages = true,
            });
            var chatOptions = new ChatOptions { RawRepresentationFactory = _ => options };
            var history = new List<ChatMessage>();
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
                history.Add(new ChatMessage(ChatRole.User, line));
                Console.Write("dbrx> ");
                var updates = new List<ChatResponseUpdate>();
                using (var interrupt = new InterruptToCancel())
                {
                    try
                    {
                        await foreach (ChatResponseUpdate update in client.GetStreamingResponseAsync(history, chatOptions, interrupt.Token))
                        {
                            Console.Write(update.Text);
                            updates.Add(update);
                        }
                    }
                    catch (Exception e) when (e is ArgumentException or OperationCanceledException)
                    {
                        history.RemoveAt(history.Count - 1);
                        Console.Error.WriteLine(e is OperationCanceledException ? "\n(stopped)" : $"\ndbrx: error: {e.Message}");
                        continue;
                    }
                }
                Console.WriteLine();
                if (updates.LastOrDefault()?.RawRepresentation is GenerationUpdate { FinishReason: not null } last)
                    Console.Error.WriteLine(GenerateCommand.Summary(last));
                history.AddMessages(updates);
            }
        }));
        return command;
    }
}
