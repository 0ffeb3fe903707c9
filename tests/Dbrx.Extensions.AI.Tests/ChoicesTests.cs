using Microsoft.Extensions.AI;

namespace Dbrx.Extensions.AI.Tests;

/// <summary>Several answers to one prompt through <see cref="IChatClient"/> (<c>n</c>).</summary>
public sealed class ChoicesTests(TinyCheckpoint tiny) : IClassFixture<TinyCheckpoint>
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static ChatOptions Sampled(long seed) => new() { Temperature = 1.0f, TopK = 0, TopP = 1, MaxOutputTokens = 6, Seed = seed };

    [Fact]
    public async Task Each_choice_is_the_answer_its_seed_gives_alone_and_the_prompt_is_prefilled_once()
    {
        using var client = new DbrxChatClient(tiny.Options());
        const string question = "Tell me something about DBRX.";
        int promptTokens = client.CountPromptTokens([new ChatMessage(ChatRole.User, question)]);
        string[] alone = [.. await Task.WhenAll(Enumerable.Range(0, 3).Select(async i => (await client.GetResponseAsync(question, Sampled(11 + i), Ct)).Text))];
        long hitsBefore = client.EngineStatistics.PrefixCacheHits;

        ChatResponse response = await client.GetResponseAsync(question, Sampled(11).WithChoices(3), Ct);

        Assert.Equal(alone, response.Messages.Select(m => m.Text));
        Assert.All(response.Messages, m => Assert.Equal(ChatRole.Assistant, m.Role));
        Assert.Equal(promptTokens, response.Usage!.InputTokenCount);
        Assert.InRange(response.Usage.OutputTokenCount!.Value, 3, 18);
        // Choices 1 and 2 start from choice 0's keys and values: all of the prompt but its last token each.
        Assert.True(client.EngineStatistics.PrefixCacheHits - hitsBefore >= 2 * (promptTokens - 1));
    }

    [Fact]
    public async Task Streamed_updates_say_their_choice()
    {
        using var client = new DbrxChatClient(tiny.Options());
        List<ChatResponseUpdate> updates = await client.GetStreamingResponseAsync("Hi", Sampled(3).WithChoices(2), Ct).ToListAsync(Ct);
        Assert.Equal([0, 1], updates.Where(u => u.MessageId is not null).Select(u => u.GetChoiceIndex()).Distinct().Order());
        Assert.Single(updates, u => u.Contents.OfType<UsageContent>().Any());
        Assert.Equal(2, updates.Count(u => u.FinishReason is not null));
    }

    [Fact]
    public async Task More_choices_than_allowed_is_an_error_naming_the_option()
    {
        var options = tiny.Options();
        options.MaxChoices = 2;
        using var client = new DbrxChatClient(options);
        var error = await Assert.ThrowsAsync<DbrxChatOptionException>(() => client.GetResponseAsync("Hi", new ChatOptions().WithChoices(3), Ct));
        Assert.Contains("from 1 to 2 (DbrxChatClientOptions.MaxChoices), not 3", error.Message);
    }
}
