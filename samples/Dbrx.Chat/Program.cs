// A console chat through dependency injection and IChatClient, streaming, with a tool.
//
//   dotnet run --project samples/Dbrx.Chat                      offline: a tiny random DBRX, created on first run
//   dotnet run --project samples/Dbrx.Chat -- --model DIR       a real checkpoint (for example dbrx-instruct)
//   ... -- --device cuda --max-tokens 512
//
// Type a message and press Enter. "/tool <question>" requires a tool call for that turn (a random model never
// chooses one by itself); "/reset" clears the conversation; "/exit" or end of input quits; Ctrl+C stops an answer.
using System.ComponentModel;
using Dbrx.Extensions.AI;
using Dbrx.Inference.Modeling;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;

string? model = Argument("--model");
string device = Argument("--device") ?? "auto";
int maxTokens = int.Parse(Argument("--max-tokens") ?? "256", System.Globalization.CultureInfo.InvariantCulture);
if (model is null)
{
    Console.Error.WriteLine("No --model given: using a tiny random DBRX (answers are noise, but everything else is real).");
    model = DbrxRandomCheckpoint.EnsureTinySample();
}

var services = new ServiceCollection();
services.AddDbrxChatClient(options =>
{
    options.ModelPath = model;
    options.Device = device;
    options.DefaultMaxOutputTokens = maxTokens;
    options.DropOldestMessages = true;   // a long chat forgets its oldest exchanges instead of failing
}).UseFunctionInvocation();
await using var provider = services.BuildServiceProvider();
IChatClient client = provider.GetRequiredService<IChatClient>();

[Description("Gets the current local date and time.")]
static string GetCurrentTime() => DateTimeOffset.Now.ToString("yyyy-MM-dd HH:mm:ss zzz", System.Globalization.CultureInfo.InvariantCulture);

var tools = new List<AITool> { AIFunctionFactory.Create(GetCurrentTime, "get_current_time") };
var history = new List<ChatMessage>();
Console.Error.WriteLine($"DBRX chat ({client.GetService<ChatClientMetadata>()?.DefaultModelId}). /tool <question>, /reset, /exit; Ctrl+C stops an answer.");

while (true)
{
    Console.Write("\nyou> ");
    string? line = Console.ReadLine();
    if (line is null || line.Trim() == "/exit")
        break;
    if (line.Trim() == "/reset")
    {
        history.Clear();
        continue;
    }
    bool requireTool = line.StartsWith("/tool ", StringComparison.Ordinal);
    history.Add(new ChatMessage(ChatRole.User, requireTool ? line["/tool ".Length..] : line));
    var options = new ChatOptions { Tools = tools, ToolMode = requireTool ? ChatToolMode.RequireAny : ChatToolMode.Auto };

    using var stop = new CancellationTokenSource();
    ConsoleCancelEventHandler onCancel = (_, e) => { e.Cancel = true; stop.Cancel(); };
    Console.CancelKeyPress += onCancel;
    var updates = new List<ChatResponseUpdate>();
    Console.Write("dbrx> ");
    try
    {
        await foreach (ChatResponseUpdate update in client.GetStreamingResponseAsync(history, options, stop.Token))
        {
            foreach (var call in update.Contents.OfType<FunctionCallContent>())
                Console.Write($"[calling {call.Name}] ");
            foreach (var result in update.Contents.OfType<FunctionResultContent>())
                Console.Write($"[result: {result.Result}] ");
            Console.Write(update.Text);
            updates.Add(update);
        }
        history.AddMessages(updates);
    }
    catch (OperationCanceledException)
    {
        Console.Write(" (stopped)");
        history.RemoveAt(history.Count - 1);
    }
    finally
    {
        Console.CancelKeyPress -= onCancel;
    }
    Console.WriteLine();
}

string? Argument(string name)
{
    int index = Array.IndexOf(args, name);
    return index >= 0 && index + 1 < args.Length ? args[index + 1] : null;
}
