using System.Text.Json;
using System.Text.Json.Nodes;
using Json.Schema;
using OpenAI.Chat;

namespace Dbrx.Server.Tests;

/// <summary>The official OpenAI .NET SDK (OpenAI 2.14.0) against the server, as any OpenAI application would use it.</summary>
[Collection("Server")]
public sealed class OpenAISdkTests(ServerFixture fixture)
{
    private readonly ChatClient chat = fixture.Server.OpenAI().GetChatClient(TinyModel.Id);
    private static CancellationToken Cancellation => TestContext.Current.CancellationToken;

    [Fact]
    public async Task NonStreamingChatHasTheAnswerFinishReasonAndUsage()
    {
        ChatCompletion completion = await chat.CompleteChatAsync(
            [new SystemChatMessage("You are terse."), new UserChatMessage("Say hello.")],
            new ChatCompletionOptions { Temperature = 0, MaxOutputTokenCount = 12 }, Cancellation);

        Assert.Equal(ChatMessageRole.Assistant, completion.Role);
        Assert.Equal(TinyModel.Id, completion.Model);
        Assert.StartsWith("chatcmpl-", completion.Id);
        Assert.NotEmpty(completion.Content[0].Text);
        Assert.Equal(ChatFinishReason.Length, completion.FinishReason);
        Assert.Equal(12, completion.Usage.OutputTokenCount);
        Assert.True(completion.Usage.InputTokenCount > 5);
        Assert.Equal(completion.Usage.InputTokenCount + completion.Usage.OutputTokenCount, completion.Usage.TotalTokenCount);
    }

    [Fact]
    public async Task StreamingChatEqualsTheWholeAnswerAndEndsWithUsage()
    {
        var options = new ChatCompletionOptions { Temperature = 0, MaxOutputTokenCount = 16 };
        ChatMessage[] messages = [new UserChatMessage("Count to five.")];
        ChatCompletion whole = await chat.CompleteChatAsync(messages, options, Cancellation);

        var streamed = new System.Text.StringBuilder();
        var updates = new List<StreamingChatCompletionUpdate>();
        await foreach (StreamingChatCompletionUpdate update in chat.CompleteChatStreamingAsync(messages, new ChatCompletionOptions { Temperature = 0, MaxOutputTokenCount = 16 }, Cancellation))
        {
            updates.Add(update);
            foreach (ChatMessageContentPart part in update.ContentUpdate)
                streamed.Append(part.Text);
        }

        Assert.True(updates.Count > 3, "one chunk per update");
        Assert.Equal(whole.Content[0].Text, streamed.ToString());
        Assert.Equal(ChatFinishReason.Length, updates.Single(u => u.FinishReason is not null).FinishReason);
        // The SDK asks for usage in streams (stream_options.include_usage): it comes in the last chunk.
        Assert.Equal(16, updates[^1].Usage.OutputTokenCount);
        // The same conversation again starts from the first request's cache row.
        Assert.True(updates[^1].Usage.InputTokenDetails.CachedTokenCount > 0);
    }

    [Fact]
    public async Task RequiredToolChoiceReturnsAValidCall()
    {
        const string schema = """{"type":"object","properties":{"city":{"type":"string"},"days":{"type":"integer"}},"required":["city","days"]}""";
        var options = new ChatCompletionOptions
        {
            Temperature = 0,
            MaxOutputTokenCount = 80,
            Tools = { ChatTool.CreateFunctionTool("get_forecast", "Weather forecast for a city.", BinaryData.FromString(schema)) },
            ToolChoice = ChatToolChoice.CreateRequiredChoice(),
        };

        ChatCompletion completion = await chat.CompleteChatAsync([new UserChatMessage("Weather in Oslo for 3 days?")], options, Cancellation);

        Assert.Equal(ChatFinishReason.ToolCalls, completion.FinishReason);
        ChatToolCall call = Assert.Single(completion.ToolCalls);
        Assert.Equal("get_forecast", call.FunctionName);
        Assert.StartsWith("call_", call.Id);
        using JsonDocument arguments = JsonDocument.Parse(call.FunctionArguments);
        Assert.True(JsonSchema.FromText(schema).Evaluate(arguments.RootElement).IsValid, call.FunctionArguments.ToString());

        // The call and a result go back, and the conversation goes on.
        ChatCompletion next = await chat.CompleteChatAsync(
            [new UserChatMessage("Weather in Oslo for 3 days?"), new AssistantChatMessage(completion.ToolCalls), new ToolChatMessage(call.Id, "Rain, 8 °C.")],
            new ChatCompletionOptions { Temperature = 0, MaxOutputTokenCount = 8 }, Cancellation);
        Assert.Equal(ChatFinishReason.Length, next.FinishReason);
        var (messages, _) = fixture.Server.Requests.Last();
        Assert.Contains(messages.SelectMany(m => m.Contents).OfType<Microsoft.Extensions.AI.FunctionResultContent>(), r => r.CallId == call.Id && (string?)r.Result == "Rain, 8 °C.");
    }

    [Fact]
    public async Task JsonSchemaOutputConformsToTheSchema()
    {
        // "age" is bounded as a real schema would be: an unbounded integer may have more digits than the validator (JsonSchema.Net reads numbers as decimal) can read.
        const string schema = """{"type":"object","properties":{"name":{"type":"string"},"age":{"type":"integer","minimum":0,"maximum":150},"tags":{"type":"array","items":{"type":"string"},"maxItems":2}},"required":["name","age","tags"],"additionalProperties":false}""";
        var options = new ChatCompletionOptions
        {
            Temperature = 0,
            MaxOutputTokenCount = 120,
            ResponseFormat = ChatResponseFormat.CreateJsonSchemaFormat("person", BinaryData.FromString(schema), jsonSchemaIsStrict: true),
        };

        ChatCompletion completion = await chat.CompleteChatAsync([new UserChatMessage("Describe a person.")], options, Cancellation);

        Assert.Equal(ChatFinishReason.Stop, completion.FinishReason);
        JsonNode answer = JsonNode.Parse(completion.Content[0].Text)!;
        Assert.True(JsonSchema.FromText(schema).Evaluate(answer).IsValid, completion.Content[0].Text);
    }

    [Fact]
    public async Task UsageCountsCachedPromptTokensOfARepeatedPrefix()
    {
        var options = new ChatCompletionOptions { Temperature = 0, MaxOutputTokenCount = 4 };
        var system = new SystemChatMessage("You answer questions about the solar system. " + string.Concat(Enumerable.Repeat("Be precise. ", 20)));
        ChatCompletion first = await chat.CompleteChatAsync([system, new UserChatMessage("Which planet is largest?")], options, Cancellation);
        ChatCompletion second = await chat.CompleteChatAsync([system, new UserChatMessage("Which planet is smallest?")], options, Cancellation);

        // The second request shares the system turn (and the template around it) with the first.
        Assert.True(second.Usage.InputTokenDetails.CachedTokenCount > 40, $"cached {second.Usage.InputTokenDetails.CachedTokenCount} of {second.Usage.InputTokenCount}");
        Assert.True(second.Usage.InputTokenDetails.CachedTokenCount < second.Usage.InputTokenCount);
        Assert.True(first.Usage.InputTokenCount > 40);
    }

    [Fact]
    public async Task LogProbabilitiesComeWithEveryTokenWholeAndStreamed()
    {
        var options = new ChatCompletionOptions { Temperature = 0, MaxOutputTokenCount = 6, IncludeLogProbabilities = true, TopLogProbabilityCount = 3 };
        ChatMessage[] messages = [new UserChatMessage("Name a planet.")];

        ChatCompletion whole = await chat.CompleteChatAsync(messages, options, Cancellation);
        var streamed = new List<ChatTokenLogProbabilityDetails>();
        await foreach (StreamingChatCompletionUpdate update in chat.CompleteChatStreamingAsync(messages, options, Cancellation))
            streamed.AddRange(update.ContentTokenLogProbabilities);

        Assert.Equal(whole.Usage.OutputTokenCount, whole.ContentTokenLogProbabilities.Count);
        Assert.All(whole.ContentTokenLogProbabilities, token =>
        {
            Assert.InRange(token.LogProbability, float.NegativeInfinity, 0f);
            Assert.Equal(3, token.TopLogProbabilities.Count);
            // Greedy: each token is its position's most likely one.
            Assert.Equal(token.Token, token.TopLogProbabilities[0].Token);
        });
        // The same tokens; their log-probabilities to float rounding, since the second request may reuse the first's
        // cached keys and values or share its batch with other tests' requests (another matmul shape).
        Assert.Equal(whole.ContentTokenLogProbabilities.Select(t => t.Token), streamed.Select(t => t.Token));
        Assert.All(whole.ContentTokenLogProbabilities.Zip(streamed), pair => Assert.Equal(pair.First.LogProbability, pair.Second.LogProbability, 1e-4f));
        Assert.Equal(whole.Content[0].Text, string.Concat(whole.ContentTokenLogProbabilities.Select(t => t.Token)));
    }

    [Fact]
    public async Task SeveralChoicesComeBackEachWithItsIndexAndThePromptCountedOnce()
    {
        // The SDK has no member for n (its Patch sets any field) and marks Seed and Patch as previews.
#pragma warning disable OPENAI001, SCME0001
        var options = new ChatCompletionOptions { Temperature = 1, MaxOutputTokenCount = 5, Seed = 21 };
        options.Patch.Set("$.n"u8, 3);
        ChatMessage[] messages = [new UserChatMessage("Tell me a colour.")];
        var single = new ChatCompletionOptions { Temperature = 1, MaxOutputTokenCount = 5, Seed = 21 };
#pragma warning restore OPENAI001, SCME0001

        var result = await chat.CompleteChatAsync(messages, options, Cancellation);
        ChatCompletion alone = await chat.CompleteChatAsync(messages, single, Cancellation);

        // The SDK's completion is the first choice; the wire has all three.
        using JsonDocument raw = JsonDocument.Parse(result.GetRawResponse().Content);
        JsonElement[] choices = [.. raw.RootElement.GetProperty("choices").EnumerateArray()];
        Assert.Equal([0, 1, 2], choices.Select(c => c.GetProperty("index").GetInt32()));
        Assert.All(choices, c => Assert.Equal("assistant", c.GetProperty("message").GetProperty("role").GetString()));
        Assert.Equal(alone.Content[0].Text, result.Value.Content[0].Text);
        Assert.Equal(alone.Usage.InputTokenCount, result.Value.Usage.InputTokenCount);
        Assert.Equal(result.Value.Usage.InputTokenCount + result.Value.Usage.OutputTokenCount, result.Value.Usage.TotalTokenCount);
        Assert.InRange(result.Value.Usage.OutputTokenCount, 3, 15);
    }
}
