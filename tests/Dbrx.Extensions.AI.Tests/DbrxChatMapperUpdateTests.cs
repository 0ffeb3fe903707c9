using Dbrx.Inference.Generation;
using Dbrx.Inference.Tokenization;
using Microsoft.Extensions.AI;

namespace Dbrx.Extensions.AI.Tests;

/// <summary>The response direction of <see cref="DbrxChatMapper"/>: engine updates to chat updates.</summary>
public sealed class DbrxChatMapperUpdateTests
{
    private static readonly CancellationToken Cancellation = TestContext.Current.CancellationToken;

    private static DbrxChatRequest Request(bool toolsOffered = false, bool required = false, int dropped = 0) =>
        new([1, 2, 3], new DbrxGenerationOptions(), toolsOffered, required, AllowMultipleToolCalls: true, dropped);

    /// <summary>The engine's stream: one update per piece, the last one with the finish reason and usage.</summary>
    private static async IAsyncEnumerable<GenerationUpdate> Engine(GenerationFinishReason reason, params string[] pieces)
    {
        for (int i = 0; i < pieces.Length; i++)
        {
            await Task.Yield();
            bool last = i == pieces.Length - 1;
            yield return new GenerationUpdate
            {
                Text = pieces[i],
                TokenIds = [i],
                FinishReason = last ? reason : null,
                Usage = last ? new GenerationUsage(3, pieces.Length) { CachedPromptTokens = 2 } : null,
            };
        }
    }

    private static async Task<List<ChatResponseUpdate>> Updates(DbrxChatRequest request, IAsyncEnumerable<GenerationUpdate> engine) =>
        await DbrxChatMapper.ToUpdates(engine, request, "dbrx-test", DbrxTokenizer.Default, Cancellation).ToListAsync(Cancellation);

    [Fact]
    public async Task Text_streams_as_it_comes_and_the_last_update_has_usage_and_finish_reason()
    {
        var updates = await Updates(Request(dropped: 2), Engine(GenerationFinishReason.EndOfTurn, "Hel", "lo", ""));

        Assert.Equal(["Hel", "lo"], updates.SelectMany(u => u.Contents.OfType<TextContent>()).Select(t => t.Text));
        Assert.All(updates, u => Assert.IsType<GenerationUpdate>(u.RawRepresentation));
        Assert.Single(updates.Select(u => u.ResponseId).Distinct());
        Assert.All(updates, u => Assert.Equal("dbrx-test", u.ModelId));
        ChatResponseUpdate end = updates[^1];
        Assert.Equal(ChatFinishReason.Stop, end.FinishReason);
        var usage = Assert.Single(end.Contents.OfType<UsageContent>()).Details;
        Assert.Equal((3, 2, 3, 6), (usage.InputTokenCount, usage.CachedInputTokenCount, usage.OutputTokenCount, usage.TotalTokenCount));
        Assert.Equal(2, end.AdditionalProperties!["dropped_messages"]);
    }

    [Fact]
    public async Task A_tool_call_envelope_is_held_back_and_becomes_function_calls()
    {
        var updates = await Updates(Request(toolsOffered: true), Engine(GenerationFinishReason.EndOfTurn,
            "{\"tool_calls\":[{\"name\":\"get_weather\",", "\"arguments\":{\"city\":\"Oslo\"}}]}"));

        Assert.Empty(updates.SelectMany(u => u.Contents.OfType<TextContent>()));
        var call = Assert.Single(updates.SelectMany(u => u.Contents.OfType<FunctionCallContent>()));
        Assert.Equal("get_weather", call.Name);
        Assert.Equal("Oslo", call.Arguments!["city"]?.ToString());
        Assert.Equal(ChatFinishReason.ToolCalls, updates[^1].FinishReason);
    }

    [Fact]
    public async Task Plain_text_with_tools_offered_streams_and_a_length_stop_says_so()
    {
        var updates = await Updates(Request(toolsOffered: true), Engine(GenerationFinishReason.Length, "It is ", "sunny"));

        Assert.Equal("It is sunny", string.Concat(updates.SelectMany(u => u.Contents.OfType<TextContent>()).Select(t => t.Text)));
        Assert.Empty(updates.SelectMany(u => u.Contents.OfType<FunctionCallContent>()));
        Assert.Equal(ChatFinishReason.Length, updates[^1].FinishReason);
    }

    [Fact]
    public async Task A_cancelled_generation_throws_and_a_stream_without_an_end_is_an_error()
    {
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => Updates(Request(), Engine(GenerationFinishReason.Cancelled, "partial")));
        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => Updates(Request(), AsyncEnumerable.Empty<GenerationUpdate>()));
        Assert.Contains("without a finish reason", error.Message);
    }

    /// <summary>
    /// Log-probabilities of tokens whose text is held back (it may be a tool call) ride on the next update that is
    /// streamed, so every token's value arrives once, in order, with the token's text and bytes.
    /// </summary>
    [Fact]
    public async Task Log_probabilities_of_held_back_text_arrive_with_the_next_update_in_order()
    {
        int[] tokens = [.. DbrxTokenizer.Default.Encode("It is sunny today")];
        async IAsyncEnumerable<GenerationUpdate> Engine()
        {
            for (int i = 0; i < tokens.Length; i++)
            {
                await Task.Yield();
                bool last = i == tokens.Length - 1;
                yield return new GenerationUpdate
                {
                    Text = DbrxTokenizer.Default.Decode([tokens[i]]),
                    TokenIds = [tokens[i]],
                    LogProbabilities = [new TokenLogProbability(tokens[i], -0.5 - i, [new TokenAlternative(tokens[i], -0.5 - i), new TokenAlternative(1, -9)])],
                    FinishReason = last ? GenerationFinishReason.EndOfTurn : null,
                    Usage = last ? new GenerationUsage(3, tokens.Length) : null,
                };
            }
        }

        var updates = await Updates(Request(toolsOffered: true), Engine());

        List<DbrxChatTokenLogProbability> all = [.. updates.SelectMany(u => u.GetLogProbabilities())];
        Assert.Equal([.. tokens.Select(t => DbrxTokenizer.Default.Decode([t]))], all.Select(l => l.Token));
        Assert.Equal([.. Enumerable.Range(0, tokens.Length).Select(i => -0.5 - i)], all.Select(l => l.LogProbability));
        Assert.Equal(System.Text.Encoding.UTF8.GetBytes("It"), all[0].Bytes);
        Assert.All(all, l => Assert.Equal([l.Token, "\""], l.TopAlternatives.Select(a => a.Token)));
    }
}
