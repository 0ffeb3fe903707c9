using Dbrx.Inference.Chat;
using Dbrx.Inference.Tokenization;
using Microsoft.Extensions.AI;

namespace Dbrx.Extensions.AI.Tests;

/// <summary>
/// A raw prompt (<see cref="DbrxChatOptionsExtensions.WithRawPrompt"/>) reaches the engine as its own tokens, and
/// <see cref="DbrxChatClient.RenderPrompt"/> gives the ids the engine is handed for a request, whatever it asks for.
/// </summary>
public sealed class RawPromptTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task A_raw_prompt_is_its_text_encoded_with_no_template()
    {
        var engine = new FakeEngine();
        using var client = new DbrxChatClient(engine.Object);
        const string text = "def fib(n):\n    <|im_start|> stays text";
        await client.GetResponseAsync([new ChatMessage(ChatRole.User, "def fib(n):\n"), new ChatMessage(ChatRole.User, "    <|im_start|> stays text")], new ChatOptions().WithRawPrompt(), Ct);
        Assert.Equal(DbrxTokenizer.Default.Encode(text), engine.Calls[^1].Prompt);
        Assert.Equal(engine.Calls[^1].Prompt, client.RenderPrompt([new ChatMessage(ChatRole.User, text)], new ChatOptions().WithRawPrompt()));
    }

    [Fact]
    public void Tools_and_instructions_have_no_place_in_a_raw_prompt()
    {
        using var client = new DbrxChatClient(new FakeEngine().Object);
        AIFunction tool = AIFunctionFactory.Create(() => 1, "one");
        var tools = Assert.Throws<DbrxChatOptionException>(() => client.RenderPrompt([new ChatMessage(ChatRole.User, "x")], new ChatOptions { Tools = [tool] }.WithRawPrompt()));
        Assert.Equal(nameof(ChatOptions.Tools), tools.OptionName);
        var instructions = Assert.Throws<DbrxChatOptionException>(() => client.RenderPrompt([new ChatMessage(ChatRole.User, "x")], new ChatOptions { Instructions = "Be brief." }.WithRawPrompt()));
        Assert.Equal(nameof(ChatOptions.Instructions), instructions.OptionName);
    }

    [Fact]
    public async Task RenderPrompt_is_what_the_engine_is_handed()
    {
        var engine = new FakeEngine();
        using var client = new DbrxChatClient(engine.Object, new DbrxChatClientOptions { SystemPrompt = "You are terse." });
        List<ChatMessage> history = [new(ChatRole.User, "Weather in Paris?"), new(ChatRole.Assistant, "Sunny."), new(ChatRole.User, "And Rome?")];
        var options = new ChatOptions { Instructions = "Answer in one word.", Tools = [AIFunctionFactory.Create((string city) => city, "weather")], MaxOutputTokens = 8 };
        int[] rendered = client.RenderPrompt(history, options);
        await client.GetResponseAsync(history, options, Ct);
        Assert.Equal(engine.Calls[^1].Prompt, rendered);
        // Without tools and instructions it is the plain template's rendering.
        int[] plain = DbrxChatTemplate.WithSystemPrompt("You are terse.").Encode([new("user", "Weather in Paris?"), new("assistant", "Sunny."), new("user", "And Rome?")], addGenerationPrompt: true, DbrxTokenizer.Default);
        Assert.Equal(plain, client.RenderPrompt(history));
    }
}
