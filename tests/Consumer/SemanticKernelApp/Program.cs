// Uses Dbrx.SemanticKernel as an application outside the repository would: a kernel with DBRX as its chat completion
// service and a plugin, a prompt with DBRX's execution settings, and a required call of the plugin's function, on a
// tiny random DBRX it writes first. Exits 0 when all of it worked.
using Dbrx.Inference.Checkpoints;
using System.ComponentModel;
using Dbrx.Inference.Configuration;
using Dbrx.SemanticKernel;
using Microsoft.SemanticKernel;
using static TorchSharp.torch;

string model = Path.Combine(Path.GetTempPath(), "dbrx-sk-consumer-" + Environment.ProcessId);
try
{
    DbrxRandomCheckpoint.Write(DbrxPresets.Tiny, model, seed: 1, ScalarType.Float32);

    IKernelBuilder builder = Kernel.CreateBuilder();
    builder.AddDbrxChatCompletion(options =>
    {
        options.ModelPath = model;
        options.Device = "cpu";
    });
    var calculator = new Calculator();
    builder.Plugins.AddFromObject(calculator, "calculator");
    Kernel kernel = builder.Build();

    // 1. A prompt with DBRX's own settings (top-k, min-p are DBRX's; max tokens bounds the answer).
    FunctionResult answer = await kernel.InvokePromptAsync("What is DBRX?", new KernelArguments(new DbrxPromptExecutionSettings { MaxTokens = 8, TopK = 5, MinP = 0.05, Seed = 1 }));
    string text = answer.GetValue<string>() ?? "";
    Console.WriteLine(text);
    Check(text.Length > 0, "the prompt had no answer");

    // 2. A required call of the kernel's function, run by Semantic Kernel with arguments that bind.
    await kernel.InvokePromptAsync("What is 2 + 3?", new KernelArguments(new DbrxPromptExecutionSettings
    {
        MaxTokens = 64,
        FunctionChoiceBehavior = FunctionChoiceBehavior.Required(autoInvoke: true),
    }));
    Check(calculator.Calls >= 1, "the required kernel function was not called");
    Console.WriteLine($"sk-consumer: answered, called the kernel function {calculator.Calls} time(s): OK");
    return 0;
}
catch (Exception e)
{
    Console.Error.WriteLine($"sk-consumer: FAILED: {e}");
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

internal sealed class Calculator
{
    public int Calls { get; private set; }

    [KernelFunction("add"), Description("Adds two numbers.")]
    public int Add(int a, int b)
    {
        Calls++;
        return a + b;
    }
}
