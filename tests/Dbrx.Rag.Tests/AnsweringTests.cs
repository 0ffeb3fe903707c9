using Dbrx.Inference.Chat;
using Dbrx.Inference.Tokenization;
using Dbrx.Rag.Answering;
using Dbrx.Rag.Retrieval;
using Dbrx.Rag.Tests.Support;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;

namespace Dbrx.Rag.Tests;

/// <summary>Both answering ways end to end on the tiny random DBRX: search, context, citations, caching, cancellation, budget.</summary>
public sealed class AnsweringTests(AnsweringFixture fixture, ITestOutputHelper output) : IClassFixture<AnsweringFixture>
{
    private const string Question = "how do I clean a dirty bike chain";
    private const string FollowUp = "and which lube should I use for the chain in wet weather";
    private static readonly RagChatOptions Short = new() { MaxOutputTokens = 32 };

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static bool HoldsLabel(Passage passage, string contains) =>
        TestData.Normalize(passage.Text).Contains(contains, StringComparison.Ordinal);

    [Fact]
    public async Task The_tool_way_searches_through_function_invocation_then_answers_from_the_passages()
    {
        fixture.Recorder.Clear();
        var chat = new RagChat(fixture.Client, fixture.Retriever, Short);
        var streamed = new System.Text.StringBuilder();
        RagTurn turn = await chat.AskAsync(Question, text => streamed.Append(text), Ct);

        var calls = fixture.Recorder.Calls;
        Assert.Equal(2, calls.Count);
        Assert.Equal("search", Assert.IsType<RequiredChatToolMode>(calls[0].Options!.ToolMode).RequiredFunctionName);
        Assert.InRange(turn.Passages.Count, 1, 5);
        Assert.Contains(turn.Passages, p => HoldsLabel(p, "chain-cleaning box filled with a citrus degreaser"));
        // The answer's call got the passages as the search tool's result, each headed by its chunk id and source.
        string result = calls[1].Messages.SelectMany(m => m.Contents).OfType<FunctionResultContent>().Single().Result!.ToString()!;
        Assert.All(turn.Passages, p => Assert.Contains($"[{p.ChunkId}] {p.Source}, {p.Location}", result, StringComparison.Ordinal));
        Assert.Equal(streamed.ToString(), turn.Answer);
        Assert.Equal([.. Citations.Cited(turn.Answer, turn.Passages)], turn.Cited);
        // The token count the budget relies on is the prompt the engine got.
        Assert.All(calls, c => Assert.Equal(c.Usage!.InputTokenCount, c.CountedPromptTokens));
        Assert.Equal(3, chat.History.Count(m => m.Role == ChatRole.Assistant || m.Role == ChatRole.Tool));
    }

    /// <summary>
    /// The tokens of a system turn holding DBRX's default system prompt and these instructions, from the chat template
    /// itself; the last one is left out, since it may merge with the text that follows in a longer system turn.
    /// </summary>
    private static int SystemTurnTokens(string instructions) =>
        DbrxChatTemplate.Default.Encode([DbrxChatMessage.System(DbrxChatTemplate.DefaultSystemPrompt + "\n\n" + instructions)], addGenerationPrompt: false, DbrxTokenizer.Default).Length - 2;

    [Fact]
    public async Task Every_call_of_a_follow_up_starts_from_the_cached_system_turn()
    {
        var chat = new RagChat(fixture.Client, fixture.Retriever, Short);
        await chat.AskAsync(Question, cancellationToken: Ct);
        fixture.Recorder.Clear();
        RagTurn second = await chat.AskAsync(FollowUp, cancellationToken: Ct);
        var calls = fixture.Recorder.Calls;
        output.WriteLine($"follow-up: {second.Usage!.InputTokenCount} prompt tokens over its calls, {second.Usage.CachedInputTokenCount} from the cache; "
            + $"per call (prompt/cached): {string.Join(", ", calls.Select(c => $"{c.Usage!.InputTokenCount}/{c.Usage.CachedInputTokenCount}"))}");
        Assert.Equal(2, calls.Count);
        Assert.All(calls, c => Assert.InRange(c.Usage!.CachedInputTokenCount!.Value, SystemTurnTokens(new RagChatOptions().Instructions), c.Usage.InputTokenCount!.Value - 1));
        Assert.Equal(calls.Sum(c => c.Usage!.CachedInputTokenCount), second.Usage.CachedInputTokenCount);
        Assert.Contains(second.Passages, p => HoldsLabel(p, "Wet lube suits"));
    }

    [Fact]
    public async Task The_agent_way_puts_the_passages_into_the_context_before_the_run()
    {
        fixture.Recorder.Clear();
        var chat = new AgentRagChat(fixture.Client, fixture.Retriever, Short);
        RagTurn first = await chat.AskAsync(Question, cancellationToken: Ct);

        var call = Assert.Single(fixture.Recorder.Calls);
        Assert.Contains(first.Passages, p => HoldsLabel(p, "chain-cleaning box filled with a citrus degreaser"));
        var context = Assert.Single(call.Messages, m => m.Text.StartsWith("Passages from the documents:", StringComparison.Ordinal));
        Assert.Equal(ChatRole.User, context.Role);
        Assert.All(first.Passages, p => Assert.Contains(p.Text, context.Text, StringComparison.Ordinal));
        Assert.Contains(call.Messages, m => m.Role == ChatRole.User && m.Text == Question);
        Assert.Null(call.Options!.Tools);

        fixture.Recorder.Clear();
        RagTurn second = await chat.AskAsync(FollowUp, cancellationToken: Ct);
        output.WriteLine($"agent follow-up: {second.Usage!.InputTokenCount} prompt tokens, {second.Usage.CachedInputTokenCount} from the cache");
        // The system turn and at least the first question come from the cache.
        int firstQuestion = DbrxTokenizer.Default.Encode(Question).Length;
        Assert.InRange(second.Usage.CachedInputTokenCount!.Value, SystemTurnTokens(AgentRagChat.Instructions) + firstQuestion, second.Usage.InputTokenCount!.Value - 1);
        Assert.Contains(second.Passages, p => HoldsLabel(p, "Wet lube suits"));
    }

    [Fact]
    public async Task Cancelling_mid_answer_throws_and_leaves_the_conversation_as_it_was()
    {
        var chat = new RagChat(fixture.Client, fixture.Retriever, Short);
        using var stop = new CancellationTokenSource();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => chat.AskAsync(Question, _ => stop.Cancel(), stop.Token));
        Assert.Empty(chat.History);
        RagTurn turn = await chat.AskAsync(Question, cancellationToken: Ct);
        Assert.NotEmpty(turn.Passages);
        Assert.Equal(4, chat.History.Count);

        var agent = new AgentRagChat(fixture.Client, fixture.Retriever, Short);
        using var stopAgent = new CancellationTokenSource();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => agent.AskAsync(Question, _ => stopAgent.Cancel(), stopAgent.Token));
        Assert.NotEmpty((await agent.AskAsync(Question, cancellationToken: Ct)).Passages);
    }

    [Fact]
    public async Task Passages_are_cut_to_what_a_small_context_holds_and_the_request_still_succeeds()
    {
        const int context = 800, answer = 48;
        RecordingChatClient? recorder = null;
        await using var services = TinyDbrx.Services(context, b => b.Use(inner => recorder = new RecordingChatClient(inner)));
        var client = services.GetRequiredService<IChatClient>();
        var chat = new RagChat(client, new RagRetriever(fixture.Index, new RetrieverOptions { Top = 5 }), new RagChatOptions { MaxOutputTokens = answer });
        string question = "tyre pressure chain brake cable wheel spoke derailleur gears winter storage puncture";

        RagTurn turn = await chat.AskAsync(question, cancellationToken: Ct);
        RagTurn structured = await chat.AskStructuredAsync(question, Ct);

        var full = await fixture.Retriever.SearchAsync([question, "x"], cancellationToken: Ct);
        output.WriteLine($"passages kept {turn.Passages.Count} of {full.Count}; prompts {string.Join(", ", recorder!.Calls.Select(c => c.CountedPromptTokens))}");
        Assert.True(turn.Passages.Count < 5 || turn.Passages[^1].Text.EndsWith(" …", StringComparison.Ordinal));
        Assert.All(recorder.Calls, c => Assert.InRange(c.Usage!.InputTokenCount!.Value, 1, context - answer));
        Assert.All(recorder.Calls, c => Assert.Equal(c.Usage!.InputTokenCount, c.CountedPromptTokens));
        Assert.NotNull(structured.Structured);
    }
}
