using System.ComponentModel;
using Microsoft.Extensions.AI;
using Microsoft.SemanticKernel;
using Microsoft.SemanticKernel.Connectors.OpenAI;

namespace Dbrx.Server.Tests;

/// <summary>Semantic Kernel's OpenAI connector (1.82.0) pointed at the server, with a plugin.</summary>
[Collection("Server")]
public sealed class SemanticKernelTests(ServerFixture fixture)
{
    private static CancellationToken Cancellation => TestContext.Current.CancellationToken;

    public sealed class LibraryPlugin
    {
        public int Lookups;

        [KernelFunction("find_book"), Description("Finds a book in the library catalogue.")]
        public string FindBook([Description("Title or author")] string query)
        {
            Interlocked.Increment(ref Lookups);
            return $"'{query}' is on shelf 12.";
        }
    }

    private Kernel Kernel(LibraryPlugin plugin)
    {
        IKernelBuilder builder = Microsoft.SemanticKernel.Kernel.CreateBuilder();
        builder.AddOpenAIChatCompletion(TinyModel.Id, fixture.Server.OpenAI());
        builder.Plugins.AddFromObject(plugin, "library");
        return builder.Build();
    }

    [Fact]
    public async Task AutoFunctionChoiceOffersThePluginAndAnswers()
    {
        var plugin = new LibraryPlugin();
        var settings = new OpenAIPromptExecutionSettings { FunctionChoiceBehavior = FunctionChoiceBehavior.Auto(), Temperature = 0, MaxTokens = 16 };

        FunctionResult result = await Kernel(plugin).InvokePromptAsync("Where is Dune?", new KernelArguments(settings), cancellationToken: Cancellation);

        Assert.NotEmpty(result.GetValue<string>()!);
        // The server got the plugin's function as a tool the model may call (auto), with its parameter schema.
        var (_, options) = fixture.Server.Requests.Last();
        AIFunctionDeclaration tool = Assert.Single(options!.Tools!.OfType<AIFunctionDeclaration>());
        Assert.Equal("library-find_book", tool.Name);
        Assert.Contains("\"query\"", tool.JsonSchema.GetRawText(), StringComparison.Ordinal);
        Assert.True(options.ToolMode is null or AutoChatToolMode);
    }

    [Fact]
    public async Task RequiredFunctionChoiceInvokesThePlugin()
    {
        var plugin = new LibraryPlugin();
        var settings = new OpenAIPromptExecutionSettings { FunctionChoiceBehavior = FunctionChoiceBehavior.Required(options: new() { AllowParallelCalls = false }), Temperature = 0, MaxTokens = 60 };

        FunctionResult result = await Kernel(plugin).InvokePromptAsync("Where is Dune?", new KernelArguments(settings), cancellationToken: Cancellation);

        Assert.Equal(1, plugin.Lookups);
        Assert.NotNull(result.GetValue<string>());
        var (messages, _) = fixture.Server.Requests.Last();
        Assert.Contains(messages.SelectMany(m => m.Contents).OfType<Microsoft.Extensions.AI.FunctionResultContent>(), r => r.Result!.ToString()!.Contains("is on shelf 12", StringComparison.Ordinal));
    }
}
