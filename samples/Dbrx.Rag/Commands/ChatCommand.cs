using System.CommandLine;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;

namespace Dbrx.Rag.Commands;

/// <summary><c>chat</c>: a multi-turn conversation about the indexed documents.</summary>
internal static class ChatCommand
{
    public static Command Create()
    {
        var command = new Command("chat", "Talk about the indexed documents; follow-ups start from the cached prefix of the earlier turns. /reset clears, /exit or end of input leaves, Ctrl+C stops an answer.")
        {
            RagOptions.Index, RagOptions.Model, RagOptions.Device, RagOptions.Way, RagOptions.Json, RagOptions.Top, RagOptions.MaxTokens, RagOptions.Temperature, RagOptions.Seed,
        };
        command.SetAction(RagAction.Run(async (parse, cancellation) =>
        {
            using var index = await RagSetup.OpenIndexAsync(parse, cancellation);
            await using var services = RagSetup.ChatServices(parse);
            var ask = RagSetup.Conversation(parse, services.GetRequiredService<IChatClient>(), RagSetup.Retriever(parse, index), out Action reset);
            Console.Error.WriteLine("Ask about the documents. /reset clears the conversation, /exit leaves, Ctrl+C stops an answer.");
            while (!cancellation.IsCancellationRequested)
            {
                Console.Write("\nyou> ");
                string? line = Console.ReadLine();
                if (line is null || line.Trim() == "/exit")
                    break;
                if (line.Trim() == "/reset")
                {
                    reset();
                    continue;
                }
                if (string.IsNullOrWhiteSpace(line))
                    continue;
                // Ctrl+C stops this answer only, not the chat.
                using var stop = new CancellationTokenSource();
                ConsoleCancelEventHandler onCancel = (_, e) => { e.Cancel = true; stop.Cancel(); };
                Console.CancelKeyPress += onCancel;
                try
                {
                    Console.Write("dbrx> ");
                    TurnPrinter.Print(await ask(line, Console.Write, stop.Token));
                }
                catch (OperationCanceledException) when (stop.IsCancellationRequested)
                {
                    Console.WriteLine(" (stopped)");
                }
                finally
                {
                    Console.CancelKeyPress -= onCancel;
                }
            }
            return 0;
        }, interruptible: false));
        return command;
    }
}
