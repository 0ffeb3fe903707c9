// DBRX behind two agent stacks: a Semantic Kernel Kernel with a plugin, and a Microsoft Agent Framework
// ChatClientAgent with tools over a multi-turn session.
//
//   dotnet run --project samples/Dbrx.Agents                    offline: a tiny random DBRX, created on first run
//   dotnet run --project samples/Dbrx.Agents -- --model DIR     a real checkpoint
//
// With a real model the tools are offered (FunctionChoiceBehavior.Auto, ToolMode.Auto) and the model decides; with
// the random one a call is required, since random weights never choose one: the wiring is what is shown.
using System.ComponentModel;
using Dbrx.Extensions.AI;
using Dbrx.Inference.Checkpoints;
using Dbrx.SemanticKernel;
using Microsoft.Agents.AI;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.SemanticKernel;

int at = Array.IndexOf(args, "--model");
string? model = at >= 0 && at + 1 < args.Length ? args[at + 1] : null;
bool random = model is null;
model ??= DbrxRandomCheckpoint.EnsureTinySample();
void Configure(DbrxChatClientOptions o)
{
    o.ModelPath = model;
    o.DefaultMaxOutputTokens = 96;
}

// 1. Semantic Kernel: a kernel with a plugin; kernel function invocation runs the plugin when the model calls it.
var builder = Kernel.CreateBuilder();
builder.AddDbrxChatClient(Configure);
builder.Plugins.AddFromType<WeatherPlugin>("weather");
Kernel kernel = builder.Build();
var settings = new DbrxPromptExecutionSettings
{
    FunctionChoiceBehavior = random ? FunctionChoiceBehavior.Required() : FunctionChoiceBehavior.Auto(),
    Temperature = 0.2,
};
FunctionResult answer = await kernel.InvokePromptAsync("What is the weather in Paris today?", new KernelArguments(settings));
Console.WriteLine($"Semantic Kernel answer: {answer}");
Console.WriteLine($"  plugin calls: {string.Join(", ", WeatherPlugin.Calls)}");

// 2. Microsoft Agent Framework: an agent over the DBRX IChatClient, with a tool, across two turns of one session.
var services = new ServiceCollection();
services.AddDbrxChatClient(Configure);
await using var provider = services.BuildServiceProvider();
var agent = new ChatClientAgent(provider.GetRequiredService<IChatClient>(), new ChatClientAgentOptions
{
    Name = "concierge",
    ChatOptions = new ChatOptions
    {
        Instructions = "You help travellers. Use the tools for facts.",
        Tools = [AIFunctionFactory.Create(WeatherPlugin.Forecast, "forecast")],
        ToolMode = random ? ChatToolMode.RequireAny : ChatToolMode.Auto,
    },
});
AgentSession session = await agent.CreateSessionAsync();
foreach (string question in new[] { "Should I pack an umbrella for Oslo?", "And for Madrid?" })
{
    AgentResponse response = await agent.RunAsync(question, session);
    Console.WriteLine($"Agent: {question}\n  -> {response.Text}");
}
Console.WriteLine($"  tool calls: {string.Join(", ", WeatherPlugin.Calls)}");

/// <summary>A plugin with one function, used by both stacks.</summary>
internal sealed class WeatherPlugin
{
    public static List<string> Calls { get; } = [];

    [KernelFunction("get_weather"), Description("Gets today's weather for a city.")]
    public string GetWeather([Description("The city.")] string city) => Forecast(city, 1);

    [Description("Gets the weather forecast for a city over some days.")]
    public static string Forecast([Description("The city.")] string city, [Description("Days ahead, 1 to 7.")] int days)
    {
        Calls.Add($"{city} ({days} day{(days == 1 ? "" : "s")})");
        return $"{city}: mild and dry for the next {days} day(s).";
    }
}
