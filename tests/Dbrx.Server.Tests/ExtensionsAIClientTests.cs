using System.ComponentModel;
using System.Text.Json;
using Json.Schema;
using Microsoft.Extensions.AI;

namespace Dbrx.Server.Tests;

/// <summary>Microsoft.Extensions.AI.OpenAI's <see cref="IChatClient"/> over HTTP, with function invocation, against the in-process client.</summary>
[Collection("Server")]
public sealed class ExtensionsAIClientTests(ServerFixture fixture)
{
    private readonly IChatClient http = fixture.Server.OpenAI().GetChatClient(TinyModel.Id).AsIChatClient()
        .AsBuilder().UseFunctionInvocation().Build();
    private static CancellationToken Cancellation => TestContext.Current.CancellationToken;

    private int forecasts;

    [Description("Gets the weather forecast for a city.")]
    private string GetForecast([Description("The city")] string city, [Description("Days ahead")] int days)
    {
        Interlocked.Increment(ref forecasts);
        return $"{city}: rain for {days} days";
    }

    [Fact]
    public async Task ToolRoundTripInvokesTheFunctionAndSendsItsResultBack()
    {
        var options = new ChatOptions
        {
            Tools = [AIFunctionFactory.Create(GetForecast, "get_forecast")],
            ToolMode = ChatToolMode.RequireAny,
            AllowMultipleToolCalls = false,   // parallel_tool_calls: false, so exactly one call
            Temperature = 0,
            MaxOutputTokens = 80,
        };

        ChatResponse response = await http.GetResponseAsync("What is the weather in Oslo?", options, Cancellation);

        Assert.Equal(1, forecasts);
        FunctionCallContent call = Assert.Single(response.Messages.SelectMany(m => m.Contents).OfType<FunctionCallContent>());
        Assert.Equal("get_forecast", call.Name);
        Assert.IsType<string>(call.Arguments!["city"]?.ToString());
        FunctionResultContent result = Assert.Single(response.Messages.SelectMany(m => m.Contents).OfType<FunctionResultContent>());
        Assert.Equal(call.CallId, result.CallId);
        // The second request carried the call and its result to the model; its answer is the response's text.
        var (messages, _) = fixture.Server.Requests.Last();
        Assert.Contains(messages.SelectMany(m => m.Contents).OfType<FunctionCallContent>(), c => c.CallId == call.CallId && c.Name == "get_forecast");
        Assert.Contains(messages.SelectMany(m => m.Contents).OfType<FunctionResultContent>(), r => r.CallId == call.CallId && r.Result!.ToString()!.Contains("rain for", StringComparison.Ordinal));
        Assert.Equal(ChatRole.Assistant, response.Messages[^1].Role);
        Assert.NotEmpty(response.Messages[^1].Text);
    }

    public sealed record Trip(string Destination, int Nights, bool Booked, List<string> Sights);

    [Fact]
    public async Task StructuredOutputDeserializesIntoTheType()
    {
        ChatResponse<Trip> response = await http.GetResponseAsync<Trip>("Plan a trip.", new ChatOptions { Temperature = 0, MaxOutputTokens = 200 }, cancellationToken: Cancellation);

        Assert.True(response.TryGetResult(out Trip? trip), response.Text);
        Assert.NotNull(trip!.Destination);
        Assert.NotNull(trip.Sights);
        JsonElement schema = AIJsonUtilities.CreateJsonSchema(typeof(Trip));
        Assert.True(JsonSchema.FromText(schema.GetRawText()).Evaluate(JsonDocument.Parse(response.Text).RootElement).IsValid, response.Text);
    }

    [Fact]
    public async Task StreamedTextEqualsNonStreamedAtTemperatureZero()
    {
        var options = new ChatOptions { Temperature = 0, MaxOutputTokens = 24 };
        ChatResponse whole = await http.GetResponseAsync("Tell me about rivers.", options, Cancellation);
        var streamed = new List<ChatResponseUpdate>();
        await foreach (ChatResponseUpdate update in http.GetStreamingResponseAsync("Tell me about rivers.", options, Cancellation))
            streamed.Add(update);

        Assert.True(streamed.Count > 3);
        Assert.Equal(whole.Text, string.Concat(streamed.Select(u => u.Text)));
        Assert.Equal(ChatFinishReason.Length, whole.FinishReason);
        Assert.Equal(ChatFinishReason.Length, streamed.Last(u => u.FinishReason is not null).FinishReason);
    }

    [Fact]
    public async Task HttpAnswersEqualTheInProcessClientsForTheSameRequest()
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
            new ChatOptions { Temperature = 0, MaxOutputTokens = 20, FrequencyPenalty = 0.5f, PresencePenalty = 0.3f },
            new ChatOptions { Temperature = 0.9f, TopP = 0.8f, Seed = 42, MaxOutputTokens = 20 },
            new ChatOptions { Temperature = 0, MaxOutputTokens = 20, StopSequences = ["e"] },
        })
        {
            ChatResponse overHttp = await http.GetResponseAsync(conversation, options, Cancellation);
            ChatResponse inProcess = await fixture.Server.InProcess.GetResponseAsync(conversation, options, Cancellation);

            Assert.Equal(inProcess.Text, overHttp.Text);
            Assert.Equal(inProcess.FinishReason, overHttp.FinishReason);
            Assert.Equal(inProcess.Usage!.InputTokenCount, overHttp.Usage!.InputTokenCount);
            Assert.Equal(inProcess.Usage.OutputTokenCount, overHttp.Usage.OutputTokenCount);
        }
    }
}
