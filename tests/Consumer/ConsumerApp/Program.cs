// Uses Dbrx.Extensions.AI as an application outside the repository would: registers the client with DI, streams an
// answer and makes a required tool call on a tiny random DBRX it writes first, and checks that the package brought no
// Semantic Kernel assembly (that is Dbrx.SemanticKernel's). Exits 0 when all of it worked.
using Dbrx.Inference.Checkpoints;
using System.ComponentModel;
using Dbrx.Inference.Configuration;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;
using static TorchSharp.torch;

string model = Path.Combine(Path.GetTempPath(), "dbrx-consumer-" + Environment.ProcessId);
try
{
    DbrxRandomCheckpoint.Write(DbrxPresets.Tiny, model, seed: 1, ScalarType.Float32);

    var services = new ServiceCollection();
    services.AddDbrxChatClient(options =>
    {
        options.ModelPath = model;
        options.Device = "cpu";
    }).UseFunctionInvocation();
    await using var provider = services.BuildServiceProvider();
    var client = provider.GetRequiredService<IChatClient>();

    // 1. A streamed answer with a finish reason and usage.
    var updates = new List<ChatResponseUpdate>();
    await foreach (var update in client.GetStreamingResponseAsync("What is DBRX?", new ChatOptions { MaxOutputTokens = 8, Temperature = 0 }))
    {
        Console.Write(update.Text);
        updates.Add(update);
    }
    Console.WriteLine();
    var streamed = updates.ToChatResponse();
    Check(streamed.FinishReason is not null, "the stream ended without a finish reason");
    Check(streamed.Usage?.OutputTokenCount is > 0 and <= 8, $"usage reports {streamed.Usage?.OutputTokenCount} output tokens");

    // 2. A required tool call, invoked by FunctionInvokingChatClient with arguments that bind.
    int calls = 0;
    [Description("Adds two numbers.")]
    int Add(int a, int b)
    {
        calls++;
        return a + b;
    }
    var answer = await client.GetResponseAsync("What is 2 + 3?", new ChatOptions
    {
        Tools = [AIFunctionFactory.Create(Add, "add")],
        ToolMode = ChatToolMode.RequireSpecific("add"),
        MaxOutputTokens = 64,
    });
    Check(calls >= 1, "the required tool was not called");
    Check(answer.Messages.SelectMany(m => m.Contents).OfType<FunctionResultContent>().Any(r => r.Exception is null), "the tool call did not bind");
    // 3. Only what an IChatClient user needs: no Semantic Kernel in the output.
    string[] kernel = Directory.GetFiles(AppContext.BaseDirectory, "Microsoft.SemanticKernel*.dll");
    Check(kernel.Length == 0, $"the output holds Semantic Kernel: {string.Join(", ", kernel.Select(Path.GetFileName))}");
    Console.WriteLine($"consumer: streamed {streamed.Usage!.OutputTokenCount} tokens, called the tool {calls} time(s): OK");
    return 0;
}
catch (Exception e)
{
    Console.Error.WriteLine($"consumer: FAILED: {e}");
    return 1;
}
finally
{
    if (Directory.Exists(model))
        Directory.Delete(model, recursive: true);
}

static void Check(bool condition, string problem)
{
    if (!condition)
        throw new InvalidOperationException(problem);
}
