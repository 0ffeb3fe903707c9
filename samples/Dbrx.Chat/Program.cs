// A console chat through dependency injection and IChatClient, streaming, with a tool.
//
//   dotnet run --project samples/Dbrx.Chat                      offline: a tiny random DBRX, created on first run
//   dotnet run --project samples/Dbrx.Chat -- --model DIR       a real checkpoint (for example dbrx-instruct)
//   ... -- --device cuda --max-tokens 512                       (--help lists the options)
//
// Type a message and press Enter. "/tool <question>" requires a tool call for that turn (a random model never
// chooses one by itself); "/reset" clears the conversation; "/exit" or end of input quits; Ctrl+C stops an answer.
using System.CommandLine;
using System.ComponentModel;
using Dbrx.Extensions.AI;
using Dbrx.Inference.Checkpoints;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

var modelOption = new Option<DirectoryInfo?>("--model", "-m") { Description = "Model folder (config.json, tokenizer and safetensors); default: a tiny random DBRX." };
var deviceOption = new Option<string>("--device") { Description = "cpu, cuda, cuda:N, auto or a device map.", DefaultValueFactory = _ => "auto" };
var maxTokensOption = new Option<int>("--max-tokens") { Description = "Most tokens per answer.", DefaultValueFactory = _ => 256 };
var root = new RootCommand("Chat with DBRX through Microsoft.Extensions.AI's IChatClient, with a tool.") { modelOption, deviceOption, maxTokensOption };
root.SetAction((parse, cancellation) => Chat(parse.GetValue(modelOption)?.FullName, parse.GetValue(deviceOption)!, parse.GetValue(maxTokensOption), cancellation));
ParseResult parsed = root.Parse(args);
if (parsed.Errors.Count > 0 && !args.Any(a => a is "-h" or "--help" or "-?"))
{
    foreach (var error in parsed.Errors)
        Console.Error.WriteLine($"Dbrx.Chat: error: {error.Message}");
    Console.Error.WriteLine("Run with --help for the options.");
    return 1;
}
return await parsed.InvokeAsync(new InvocationConfiguration { ProcessTerminationTimeout = null });

static async Task<int> Chat(string? model, string device, int maxTokens, CancellationToken cancellation)
{
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
        options.DefaultMaxOutputTokens = maxTokens;   // validated: --max-tokens 0 is an error naming the option
        options.DropOldestMessages = true;   // a long chat forgets its oldest exchanges instead of failing
    }).UseFunctionInvocation();
    await using var provider = services.BuildServiceProvider();
    IChatClient client;
    try
    {
        // The options are validated when the client is first resolved (registering reads nothing).
        client = provider.GetRequiredService<IChatClient>();
    }
    catch (OptionsValidationException e)
    {
        Console.Error.WriteLine($"Dbrx.Chat: error: {e.Message}");
        return 1;
    }

    // Load before the first prompt, showing how far it is (a 132B checkpoint takes minutes).
    Console.Error.Write($"loading {model} ..." + (Console.IsErrorRedirected ? "\n" : ""));
    var shown = new LoadLine();
    await client.GetService<DbrxChatClient>()!.LoadAsync(shown, cancellation);
    Console.Error.WriteLine($"\rloaded {model} ({shown.Text})".PadRight(Console.IsErrorRedirected ? 0 : 100));

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
            return 0;
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
}

/// <summary>The load's progress as one line rewritten in place on a terminal (and only its end otherwise).</summary>
internal sealed class LoadLine : IProgress<DbrxTensorProgress>
{
    public string Text { get; private set; } = "";

    public void Report(DbrxTensorProgress value)
    {
        Text = $"{value.TensorsDone}/{value.TensorsTotal} tensors, {value.BytesDone / 1e9:F2} of {value.BytesTotal / 1e9:F2} GB, {value.Device}";
        if (!Console.IsErrorRedirected)
            Console.Error.Write($"\rloading: {value.Fraction:P0} ({Text})   ");
    }
}
