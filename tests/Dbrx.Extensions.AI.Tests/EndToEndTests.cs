using System.ComponentModel;
using System.Text.Json;
using Dbrx.SemanticKernel;
using Json.Schema;
using Microsoft.Agents.AI;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.SemanticKernel;
using Microsoft.SemanticKernel.ChatCompletion;
using FunctionCallContent = Microsoft.Extensions.AI.FunctionCallContent;
using FunctionResultContent = Microsoft.Extensions.AI.FunctionResultContent;

namespace Dbrx.Extensions.AI.Tests;

/// <summary>
/// The public API as an application uses it, through DI, on a tiny random checkpoint with the full vocabulary.
/// Random weights make answers meaningless, so the tests check what constrained decoding guarantees whatever the
/// weights: calls and JSON that parse and match their schemas, and the plumbing around them.
/// </summary>
public sealed class EndToEndTests(TinyCheckpoint tiny) : IClassFixture<TinyCheckpoint>
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private ServiceProvider Services(Action<ChatClientBuilder>? pipeline = null)
    {
        var services = new ServiceCollection();
        var builder = services.AddDbrxChatClient(o =>
        {
            o.ModelPath = tiny.Directory;
            o.Device = "cpu";
            o.DefaultMaxOutputTokens = 48;
            o.ContextLength = 2048;
        });
        pipeline?.Invoke(builder);
        return services.BuildServiceProvider();
    }

    public sealed record Forecast(string City, int Days, bool Metric);

    /// <summary>Int4 weights through the options: the client quantizes on load and structured output still holds.</summary>
    [Fact]
    public async Task An_int4_client_answers_with_valid_structured_output()
    {
        var options = tiny.Options();
        options.DType = "int4";
        options.Int4Modules = "experts,attention";
        options.Int4GroupSize = 32;
        using var client = new DbrxChatClient(options);
        var response = await client.GetResponseAsync<Forecast>("Make up a forecast.", new ChatOptions { MaxOutputTokens = 64, Seed = 1 }.WithResponseType<Forecast>(), cancellationToken: Ct);
        Assert.True(response.TryGetResult(out Forecast? forecast), response.Text);
        Assert.NotNull(forecast!.City);
        Assert.Equal(DbrxModelState.Loaded, client.ModelState);
    }

    [Fact]
    public async Task A_required_call_parses_and_its_arguments_match_the_schema()
    {
        using var provider = Services();
        var client = provider.GetRequiredService<IChatClient>();
        AIFunction weather = AIFunctionFactory.Create((string city, int days) => $"{city}: sunny", "get_weather", "Weather forecast for a city.");
        foreach (var mode in new ChatToolMode[] { ChatToolMode.RequireAny, ChatToolMode.RequireSpecific("get_weather") })
        {
            var response = await client.GetResponseAsync("Weather in Oslo for 3 days?", new ChatOptions { Tools = [weather], ToolMode = mode, AllowMultipleToolCalls = false, Temperature = 0.8f, Seed = 5, MaxOutputTokens = 80 }, Ct);
            Assert.Equal(ChatFinishReason.ToolCalls, response.FinishReason);
            var call = Assert.Single(response.Messages.SelectMany(m => m.Contents).OfType<FunctionCallContent>());
            Assert.Equal("get_weather", call.Name);
            Assert.Null(call.Exception);
            var arguments = JsonSerializer.SerializeToNode(call.Arguments);
            var evaluation = JsonSchema.FromText(weather.JsonSchema.GetRawText()).Evaluate(arguments);
            Assert.True(evaluation.IsValid, arguments!.ToJsonString());
            Assert.True(response.Usage!.OutputTokenCount <= 80);
        }
    }

    [Fact]
    public async Task Structured_output_returns_objects_of_several_types()
    {
        using var provider = Services();
        var client = provider.GetRequiredService<IChatClient>();
        var forecast = await client.GetResponseAsync<Forecast>("Make up a forecast.", new ChatOptions { MaxOutputTokens = 64, Seed = 1 }.WithResponseType<Forecast>(), cancellationToken: Ct);
        Assert.NotNull(forecast.Result);
        Assert.True(forecast.TryGetResult(out _));

        var number = await client.GetResponseAsync<int>("Pick a number.", new ChatOptions { MaxOutputTokens = 32, Seed = 2 }.WithResponseType<int>(), cancellationToken: Ct);
        Assert.True(number.TryGetResult(out _), number.Text);
        var flag = await client.GetResponseAsync<bool>("Yes or no?", new ChatOptions { MaxOutputTokens = 32 }.WithResponseType<bool>(), cancellationToken: Ct);
        Assert.True(flag.TryGetResult(out _), flag.Text);
        var names = await client.GetResponseAsync<string[]>("Three names.", new ChatOptions { MaxOutputTokens = 48 }.WithResponseType<string[]>(), cancellationToken: Ct);
        Assert.NotNull(names.Result);
        var when = await client.GetResponseAsync<DateTimeOffset>("When?", new ChatOptions { MaxOutputTokens = 48 }.WithResponseType<DateTimeOffset>(), cancellationToken: Ct);
        Assert.True(when.TryGetResult(out _), when.Text);
        var day = await client.GetResponseAsync<DayOfWeek>("Which day?", new ChatOptions { MaxOutputTokens = 32 }.WithResponseType<DayOfWeek>(), cancellationToken: Ct);
        Assert.True(day.TryGetResult(out _), day.Text);
    }

    [Fact]
    public async Task Function_invocation_completes_a_round_trip()
    {
        using var provider = Services(b => b.UseFunctionInvocation());
        var client = provider.GetRequiredService<IChatClient>();
        int invocations = 0;
        AIFunction time = AIFunctionFactory.Create(() => { invocations++; return "12:00"; }, "get_time", "Gets the current time.");
        var response = await client.GetResponseAsync("What time is it?", new ChatOptions { Tools = [time], ToolMode = ChatToolMode.RequireAny, AllowMultipleToolCalls = false, MaxOutputTokens = 24 }, Ct);
        Assert.Equal(1, invocations);
        Assert.Contains(response.Messages, m => m.Contents.OfType<FunctionResultContent>().Any(r => r.Result?.ToString() == "12:00"));
        Assert.Equal(ChatRole.Assistant, response.Messages[^1].Role);
        Assert.NotEqual(ChatFinishReason.ToolCalls, response.FinishReason);
        // The call after the tool result starts from the first call's cache row (usage is summed over both calls).
        Assert.True(response.Usage!.CachedInputTokenCount > 0, $"cached input tokens: {response.Usage.CachedInputTokenCount}");
    }

    /// <summary>
    /// CountPromptTokens is the prompt the engine gets (what RAG applications budget retrieved text with): with
    /// instructions, tools in each mode and a JSON schema in the system turn, and with a tool call and result in the history.
    /// </summary>
    [Fact]
    public async Task CountPromptTokens_equals_the_prompt_the_engine_gets()
    {
        using var provider = Services();
        var client = provider.GetRequiredService<IChatClient>();
        var dbrx = client.GetService<DbrxChatClient>()!;
        AIFunction lookup = AIFunctionFactory.Create((string word) => word.Length, "lookup", "Looks a word up.");
        var schema = JsonDocument.Parse("""{"type":"object","properties":{"n":{"type":"integer","enum":[3,7]}},"required":["n"]}""").RootElement;
        List<ChatMessage> history =
        [
            new(ChatRole.User, "Look up 'kettle'."),
            new(ChatRole.Assistant, [new FunctionCallContent("call_1", "lookup", new Dictionary<string, object?> { ["word"] = "kettle" })]),
            new(ChatRole.Tool, [new FunctionResultContent("call_1", 6)]),
            new(ChatRole.User, "And now?"),
        ];
        ChatOptions[] variants =
        [
            new() { Instructions = "Be brief.", MaxOutputTokens = 8 },
            new() { Tools = [lookup], ToolMode = ChatToolMode.Auto, MaxOutputTokens = 8 },
            new() { Tools = [lookup], ToolMode = ChatToolMode.RequireSpecific("lookup"), MaxOutputTokens = 24 },
            new() { Instructions = "Count.", ResponseFormat = ChatResponseFormat.ForJsonSchema(schema, "count"), MaxOutputTokens = 8 },
        ];
        foreach (ChatOptions options in variants)
        {
            var response = await client.GetResponseAsync(history, options, Ct);
            Assert.Equal(response.Usage!.InputTokenCount, dbrx.CountPromptTokens(history, options));
        }
        Assert.Equal(2048, dbrx.ContextLength);
    }

    [Fact]
    public async Task Streaming_and_non_streaming_agree_at_temperature_zero()
    {
        using var provider = Services();
        var client = provider.GetRequiredService<IChatClient>();
        var options = new ChatOptions { Temperature = 0, MaxOutputTokens = 24 };
        var whole = await client.GetResponseAsync("Tell me a story.", options, Ct);
        var updates = new List<ChatResponseUpdate>();
        await foreach (var update in client.GetStreamingResponseAsync("Tell me a story.", options, Ct))
            updates.Add(update);
        Assert.Equal(whole.Text, string.Concat(updates.Select(u => u.Text)));
        Assert.Equal(whole.Usage!.OutputTokenCount, updates.SelectMany(u => u.Contents).OfType<UsageContent>().Single().Details.OutputTokenCount);
        Assert.Single((await updates.ToAsyncEnumerable().ToChatResponseAsync(Ct)).Messages);
    }

    /// <summary>
    /// The second turn starts from the keys and values the first left in the cache (its whole prompt at least), reports
    /// them as cached input tokens, and answers as a client that prefills everything does.
    /// </summary>
    [Fact]
    public async Task The_next_turn_starts_from_the_previous_turns_cache_row()
    {
        using var provider = Services();
        var client = provider.GetRequiredService<IChatClient>();
        var options = new ChatOptions { Temperature = 0, MaxOutputTokens = 8 };
        List<ChatMessage> history = [new(ChatRole.User, "Hello there.")];
        var first = await client.GetResponseAsync(history, options, Ct);
        history.AddMessages(first);
        history.Add(new ChatMessage(ChatRole.User, "And then?"));
        var second = await client.GetResponseAsync(history, options, Ct);

        Assert.Equal(0, first.Usage!.CachedInputTokenCount);
        Assert.InRange(second.Usage!.CachedInputTokenCount!.Value, first.Usage.InputTokenCount!.Value, second.Usage.InputTokenCount!.Value - 1);
        using var prefillsAll = new DbrxChatClient(new DbrxChatClientOptions { ModelPath = tiny.Directory, Device = "cpu", ContextLength = 2048, ReusePromptPrefixes = false });
        var reference = await prefillsAll.GetResponseAsync(history, options, Ct);
        Assert.Equal(reference.Text, second.Text);
        Assert.Equal(0, reference.Usage!.CachedInputTokenCount);
    }

    [Fact]
    public async Task Concurrent_requests_complete_and_greedy_answers_match_their_solo_runs()
    {
        using var provider = Services();
        var client = provider.GetRequiredService<IChatClient>();
        string[] prompts = ["one", "two two", "three three three", "four", "five", "six"];
        var options = new ChatOptions { Temperature = 0, MaxOutputTokens = 12 };
        var solo = new List<string>();
        foreach (string p in prompts)
            solo.Add((await client.GetResponseAsync(p, options, Ct)).Text);
        var together = await Task.WhenAll(prompts.Select(p => client.GetResponseAsync(p, options, Ct)));
        Assert.Equal(solo, together.Select(r => r.Text));
    }

    [Fact]
    public async Task Cancelling_mid_stream_throws_and_the_client_keeps_working()
    {
        using var provider = Services();
        var client = provider.GetRequiredService<IChatClient>();
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () =>
        {
            await foreach (var update in client.GetStreamingResponseAsync("Go on and on.", new ChatOptions { MaxOutputTokens = 500 }, cts.Token))
                cts.Cancel();
        });
        var after = await client.GetResponseAsync("Hello", new ChatOptions { MaxOutputTokens = 4 }, Ct);
        Assert.Equal(4L, after.Usage!.OutputTokenCount);
    }

    [Fact]
    public async Task Bad_options_are_rejected_with_clear_messages()
    {
        using var provider = Services();
        var client = provider.GetRequiredService<IChatClient>();
        var error = await Assert.ThrowsAsync<ArgumentException>(() => client.GetResponseAsync("x", new ChatOptions { Temperature = -1 }, Ct));
        Assert.Contains("Temperature must be a finite number ≥ 0", error.Message);
        error = await Assert.ThrowsAsync<ArgumentException>(() => client.GetResponseAsync("x", new ChatOptions { TopP = 2 }, Ct));
        Assert.Contains("TopP must be in (0, 1]", error.Message);
    }

    public sealed class WeatherPlugin
    {
        public List<string> Cities { get; } = [];

        [KernelFunction("get_weather"), Description("Gets the weather for a city.")]
        public string GetWeather([Description("The city.")] string city)
        {
            lock (Cities)
                Cities.Add(city);
            return $"It is sunny in {city}.";
        }
    }

    [Fact]
    public async Task A_semantic_kernel_plugin_is_called_with_function_choice_required()
    {
        var plugin = new WeatherPlugin();
        var builder = Kernel.CreateBuilder();
        builder.AddDbrxChatClient(o => { o.ModelPath = tiny.Directory; o.Device = "cpu"; o.DefaultMaxOutputTokens = 40; o.ContextLength = 2048; });
        builder.Plugins.AddFromObject(plugin, "weather");
        Kernel kernel = builder.Build();
        var settings = new DbrxPromptExecutionSettings { FunctionChoiceBehavior = FunctionChoiceBehavior.Required(options: new() { AllowParallelCalls = false }), MaxTokens = 40 };
        FunctionResult result = await kernel.InvokePromptAsync("What is the weather in Rome?", new KernelArguments(settings), cancellationToken: Ct);
        Assert.Single(plugin.Cities);
        Assert.NotNull(result.ToString());
    }

    [Fact]
    public async Task A_semantic_kernel_chat_completion_service_answers_with_the_plugin_result_in_history()
    {
        var plugin = new WeatherPlugin();
        var builder = Kernel.CreateBuilder();
        builder.AddDbrxChatCompletion(o => { o.ModelPath = tiny.Directory; o.Device = "cpu"; o.DefaultMaxOutputTokens = 40; o.ContextLength = 2048; });
        builder.Plugins.AddFromObject(plugin, "weather");
        Kernel kernel = builder.Build();
        var chat = kernel.GetRequiredService<IChatCompletionService>();
        var history = new ChatHistory();
        history.AddUserMessage("Weather in Lima?");
        var settings = new DbrxPromptExecutionSettings { FunctionChoiceBehavior = FunctionChoiceBehavior.Required(options: new() { AllowParallelCalls = false }), MaxTokens = 40 };
        var answer = await chat.GetChatMessageContentAsync(history, settings, kernel, Ct);
        Assert.Single(plugin.Cities);
        Assert.Equal(AuthorRole.Assistant, answer.Role);
    }

    [Fact]
    public async Task An_agent_framework_agent_runs_a_multi_turn_session_with_tool_calls()
    {
        using var provider = Services();
        var client = provider.GetRequiredService<IChatClient>();
        var cities = new List<string>();
        AIFunction weather = AIFunctionFactory.Create((string city) => { cities.Add(city); return $"Sunny in {city}"; }, "get_weather", "Gets the weather for a city.");
        var agent = new ChatClientAgent(client, new ChatClientAgentOptions
        {
            Name = "forecaster",
            ChatOptions = new ChatOptions { Instructions = "You answer weather questions.", Tools = [weather], ToolMode = ChatToolMode.RequireAny, AllowMultipleToolCalls = false, MaxOutputTokens = 40 },
        });
        var session = await agent.CreateSessionAsync(Ct);
        var first = await agent.RunAsync("Weather in Paris?", session, cancellationToken: Ct);
        var second = await agent.RunAsync("And in Berlin?", session, cancellationToken: Ct);
        Assert.Equal(2, cities.Count);
        Assert.NotNull(first.Text);
        Assert.Contains(second.Messages, m => m.Role == ChatRole.Assistant);
    }
}
