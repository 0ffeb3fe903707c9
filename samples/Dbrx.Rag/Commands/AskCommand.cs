using System.CommandLine;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;

namespace Dbrx.Rag.Commands;

/// <summary><c>ask "question"</c>: answers from the index, streaming, then prints the citations.</summary>
internal static class AskCommand
{
    public static Command Create()
    {
        var question = new Argument<string>("QUESTION") { Description = "The question." };
        var command = new Command("ask", "Answer a question from the indexed documents, with citations.")
        {
            question, RagOptions.Index, RagOptions.Model, RagOptions.Device, RagOptions.Way, RagOptions.Json, RagOptions.Top, RagOptions.MaxTokens, RagOptions.Temperature, RagOptions.Seed,
        };
        command.SetAction(RagAction.Run(async (parse, cancellation) =>
        {
            using var index = await RagSetup.OpenIndexAsync(parse, cancellation);
            await using var services = RagSetup.ChatServices(parse);
            var ask = RagSetup.Conversation(parse, services.GetRequiredService<IChatClient>(), RagSetup.Retriever(parse, index), out _);
            var turn = await ask(parse.GetValue(question)!, Console.Write, cancellation);
            TurnPrinter.Print(turn);
            return 0;
        }));
        return command;
    }
}
