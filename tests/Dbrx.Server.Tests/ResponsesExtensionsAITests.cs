using System.ComponentModel;
using Microsoft.Agents.AI;
using Microsoft.Extensions.AI;

namespace Dbrx.Server.Tests;

/// <summary>
/// Microsoft.Extensions.AI.OpenAI's Responses-based <see cref="IChatClient"/> over <c>/v1/responses</c>, with function
/// invocation and as an Agent Framework <see cref="ChatClientAgent"/>, against the in-process client.
/// </summary>
/// <remarks>
/// The tests use OpenAI 2.14.0, the SDK Microsoft.Extensions.AI.OpenAI 10.11.0 is built against: with 2.15.0 its
/// Responses streaming throws MissingMethodException (2.15 changed <c>CreateResponseStreamingAsync</c>).
/// </remarks>
[Collection("Server")]
public sealed class ResponsesExtensionsAITests(ServerFixture fixture)
{
    private readonly IChatClient responses = fixture.Server.OpenAI().GetResponsesClient().AsIChatClient(TinyModel.Id);
    private static CancellationToken Cancellation => TestContext.Current.CancellationToken;

    private int forecasts;

    [Description("Gets the weather forecast for a city.")]
    private string GetForecast([Description("The city")] string city, [Description("Days ahead")] int days)
    {
        Interlocked.Increment(ref forecasts);
        return $"{city}: rain for {days} days";
    }

    private ChatOptions ToolOptions() => new()
    {
        Tools = [AIFunctionFactory.Create(GetForecast, "get_forecast")],
        ToolMode = ChatToolMode.RequireAny,
        AllowMultipleToolCalls = false,   // parallel_tool_calls: false, so exactly one call
        Temperature = 0,
        MaxOutputTokens = 40,
    };

    [Fact]
    public async Task FunctionInvocationRunsTheToolAndSendsItsResultBack()
    {
        IChatClient client = responses.AsBuilder().UseFunctionInvocation().Build();

        ChatResponse response = await client.GetResponseAsync("What is the weather in Oslo?", ToolOptions(), Cancellation);

        Assert.Equal(1, forecasts);
        FunctionCallContent call = Assert.Single(response.Messages.SelectMany(m => m.Contents).OfType<FunctionCallContent>());
        Assert.Equal("get_forecast", call.Name);
        FunctionResultContent result = Assert.Single(response.Messages.SelectMany(m => m.Contents).OfType<FunctionResultContent>());
        Assert.Equal(call.CallId, result.CallId);
        AssertTheLastRequestCarried(call.CallId);
        Assert.Equal(ChatRole.Assistant, response.Messages[^1].Role);
        Assert.NotEmpty(response.Messages[^1].Text);
    }

    [Fact]
    public async Task AnAgentOverTheResponsesClientCallsItsToolAndAnswers()
    {
        var agent = new ChatClientAgent(responses, instructions: "You forecast the weather.", name: "forecaster");

        AgentResponse response = await agent.RunAsync("What is the weather in Oslo?", options: new ChatClientAgentRunOptions(ToolOptions()), cancellationToken: Cancellation);

        Assert.Equal(1, forecasts);
        FunctionCallContent call = Assert.Single(response.Messages.SelectMany(m => m.Contents).OfType<FunctionCallContent>());
        AssertTheLastRequestCarried(call.CallId);
        Assert.Equal("You forecast the weather.", fixture.Server.Requests.Last().Messages[0].Text);
        Assert.NotEmpty(response.Text);
    }

    [Fact]
    public async Task StreamedEqualsWholeAtTemperatureZeroForTheClientAndAnAgent()
    {
        var options = new ChatOptions { Temperature = 0, MaxOutputTokens = 12 };
        ChatResponse whole = await responses.GetResponseAsync("Name a planet.", options, Cancellation);
        var streamed = new System.Text.StringBuilder();
        await foreach (ChatResponseUpdate update in responses.GetStreamingResponseAsync("Name a planet.", options, Cancellation))
            streamed.Append(update.Text);
        Assert.NotEmpty(whole.Text);
        Assert.Equal(whole.Text, streamed.ToString());

        var agent = new ChatClientAgent(responses, instructions: "You name planets.", name: "namer");
        AgentResponse agentWhole = await agent.RunAsync("Name a planet.", options: new ChatClientAgentRunOptions(options), cancellationToken: Cancellation);
        var agentStreamed = new System.Text.StringBuilder();
        await foreach (AgentResponseUpdate update in agent.RunStreamingAsync("Name a planet.", options: new ChatClientAgentRunOptions(options), cancellationToken: Cancellation))
            agentStreamed.Append(update.Text);
        Assert.NotEmpty(agentWhole.Text);
        Assert.Equal(agentWhole.Text, agentStreamed.ToString());
    }

    [Fact]
    public async Task AnswersEqualTheInProcessClientsForTheSameConversation()
    {
        ChatMessage[] conversation =
        [
            new(ChatRole.System, "You are a librarian."),
            new(ChatRole.User, "Recommend a book."),
            new(ChatRole.Assistant, "Which genre?"),
            new(ChatRole.User, "Science fiction, please."),
        ];
        foreach (ChatOptions options in new[]
        {
            new ChatOptions { Temperature = 0, MaxOutputTokens = 20 },
            // The Responses API has no seed, so only greedy answers are the same.
            new ChatOptions { Temperature = 0, MaxOutputTokens = 6 },
        })
        {
            ChatResponse overHttp = await responses.GetResponseAsync(conversation, options, Cancellation);
            ChatResponse inProcess = await fixture.Server.InProcess.GetResponseAsync(conversation, options, Cancellation);

            Assert.Equal(inProcess.Text, overHttp.Text);
            Assert.Equal(inProcess.FinishReason, overHttp.FinishReason);
            Assert.Equal(inProcess.Usage!.InputTokenCount, overHttp.Usage!.InputTokenCount);
            Assert.Equal(inProcess.Usage.OutputTokenCount, overHttp.Usage.OutputTokenCount);
        }
    }

    /// <summary>The server's last model request held the call and the tool's result (whether resent or replayed from the stored response).</summary>
    private void AssertTheLastRequestCarried(string callId)
    {
        var (messages, _) = fixture.Server.Requests.Last();
        Assert.Contains(messages.SelectMany(m => m.Contents).OfType<FunctionCallContent>(), c => c.CallId == callId && c.Name == "get_forecast");
        Assert.Contains(messages.SelectMany(m => m.Contents).OfType<FunctionResultContent>(), r => r.CallId == callId && r.Result!.ToString()!.Contains("rain for", StringComparison.Ordinal));
    }
}
