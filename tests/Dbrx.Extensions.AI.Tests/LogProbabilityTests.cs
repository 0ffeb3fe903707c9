using Microsoft.Extensions.AI;

namespace Dbrx.Extensions.AI.Tests;

/// <summary>Log-probabilities through <see cref="IChatClient"/>: asked for on the options, reported per streamed update and whole.</summary>
public sealed class LogProbabilityTests(TinyCheckpoint tiny) : IClassFixture<TinyCheckpoint>
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Every_generated_token_has_its_log_probability_and_alternatives_streamed_and_whole()
    {
        using var client = new DbrxChatClient(tiny.Options());
        ChatOptions Options() => new ChatOptions { Temperature = 0, MaxOutputTokens = 8 }.WithLogProbabilities(top: 3);

        ChatResponse whole = await client.GetResponseAsync("What is DBRX?", Options(), Ct);
        List<ChatResponseUpdate> updates = await client.GetStreamingResponseAsync("What is DBRX?", Options(), Ct).ToListAsync(Ct);

        IReadOnlyList<DbrxChatTokenLogProbability> reported = whole.GetLogProbabilities();
        Assert.Equal(whole.Usage!.OutputTokenCount, reported.Count);
        Assert.Equal(reported.Select(l => (l.Token, l.LogProbability)), updates.SelectMany(u => u.GetLogProbabilities()).Select(l => (l.Token, l.LogProbability)));
        Assert.All(reported, l =>
        {
            Assert.InRange(l.LogProbability, double.NegativeInfinity, 0);
            Assert.Equal(3, l.TopAlternatives.Count);
            // Greedy: the token chosen is the most likely one.
            Assert.Equal(l.Token, l.TopAlternatives[0].Token);
            Assert.Equal(l.LogProbability, l.TopAlternatives[0].LogProbability, 1e-9);
        });
    }

    [Fact]
    public async Task Without_asking_nothing_is_reported()
    {
        using var client = new DbrxChatClient(tiny.Options());
        ChatResponse response = await client.GetResponseAsync("Hi", new ChatOptions { MaxOutputTokens = 3 }, Ct);
        Assert.Empty(response.GetLogProbabilities());
    }
}
