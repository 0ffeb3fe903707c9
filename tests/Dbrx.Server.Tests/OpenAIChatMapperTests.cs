using System.Text.Json;
using System.Text.Json.Nodes;
using Dbrx.Server.Wire;
using Microsoft.Extensions.AI;

namespace Dbrx.Server.Tests;

/// <summary>
/// The mapper both ways, against OpenAI's chat completions reference: requests as its documentation writes them,
/// responses and chunks compared with JSON written out by hand in OpenAI's shape.
/// </summary>
public sealed class OpenAIChatMapperTests
{
    private static MappedChatRequest Map(string json) =>
        OpenAIChatMapper.ToChatRequest(JsonSerializer.Deserialize(json, OpenAIJson.Wire.ChatCompletionRequest)!, new DbrxServerOptions());

    [Fact]
    public void EveryRequestFieldReachesTheChatOptions()
    {
        MappedChatRequest request = Map("""
            {"model":"m","temperature":0.5,"top_p":0.9,"max_tokens":10,"max_completion_tokens":20,"stop":"END","seed":7,
             "presence_penalty":0.25,"frequency_penalty":-0.5,"logit_bias":{"100":-100,"7":2.5},"top_k":5,"min_p":0.1,"repetition_penalty":1.2,
             "parallel_tool_calls":false,"stream":true,"stream_options":{"include_usage":true},"user":"u","n":1,"logprobs":false,
             "response_format":{"type":"json_schema","json_schema":{"name":"p","description":"a person","schema":{"type":"object","properties":{"a":{"type":"string"}}},"strict":true}},
             "tools":[{"type":"function","function":{"name":"get_weather","description":"Weather.","parameters":{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}}}],
             "tool_choice":{"type":"function","function":{"name":"get_weather"}},
             "messages":[{"role":"user","content":"Hi"}]}
            """);

        ChatOptions o = request.Options;
        Assert.Equal("m", request.Model);
        Assert.True(request.Stream);
        Assert.True(request.IncludeUsage);
        Assert.Equal(0.5f, o.Temperature);
        Assert.Equal(0.9f, o.TopP);
        Assert.Equal(20, o.MaxOutputTokens);   // max_completion_tokens wins over the older max_tokens
        Assert.Equal(["END"], o.StopSequences!);
        Assert.Equal(7, o.Seed);
        Assert.Equal(0.25f, o.PresencePenalty);
        Assert.Equal(-0.5f, o.FrequencyPenalty);
        Assert.Equal(5, o.TopK);
        Assert.False(o.AllowMultipleToolCalls);
        Assert.Equal(new Dictionary<int, double> { [100] = -100, [7] = 2.5 }, (Dictionary<int, double>)o.AdditionalProperties!["logit_bias"]!);
        Assert.Equal(0.1, o.AdditionalProperties["min_p"]);
        Assert.Equal(1.2, o.AdditionalProperties["repetition_penalty"]);
        var format = Assert.IsType<ChatResponseFormatJson>(o.ResponseFormat);
        Assert.Equal("p", format.SchemaName);
        Assert.Equal("a person", format.SchemaDescription);
        Assert.Equal("object", format.Schema!.Value.GetProperty("type").GetString());
        var tool = Assert.IsAssignableFrom<AIFunctionDeclaration>(Assert.Single(o.Tools!));
        Assert.Equal("get_weather", tool.Name);
        Assert.Equal("Weather.", tool.Description);
        Assert.Equal("city", tool.JsonSchema.GetProperty("required")[0].GetString());
        Assert.Equal("get_weather", Assert.IsType<RequiredChatToolMode>(o.ToolMode).RequiredFunctionName);
    }

    [Theory]
    [InlineData("\"none\"", typeof(NoneChatToolMode))]
    [InlineData("\"auto\"", typeof(AutoChatToolMode))]
    [InlineData("\"required\"", typeof(RequiredChatToolMode))]
    public void ToolChoiceStrings(string choice, Type mode)
    {
        MappedChatRequest request = Map("""{"model":"m","messages":[{"role":"user","content":"x"}],"tools":[{"type":"function","function":{"name":"f"}}],"tool_choice":""" + choice + "}");
        Assert.IsType(mode, request.Options.ToolMode);
        // A function without parameters takes none: an empty object schema.
        Assert.Equal("""{"type":"object","properties":{}}""", ((AIFunctionDeclaration)request.Options.Tools![0]).JsonSchema.GetRawText());
    }

    [Fact]
    public void MessagesOfEveryRoleBecomeChatMessages()
    {
        MappedChatRequest request = Map("""
            {"model":"m","messages":[
              {"role":"developer","content":"Be brief."},
              {"role":"system","content":[{"type":"text","text":"Two"},{"type":"text","text":"parts"}]},
              {"role":"user","content":"Weather?","name":"ann"},
              {"role":"assistant","content":null,"tool_calls":[{"id":"call_1","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Oslo\",\"days\":3}"}}]},
              {"role":"tool","tool_call_id":"call_1","content":"Rain"},
              {"role":"assistant","content":"It rains."}]}
            """);

        List<ChatMessage> m = request.Messages;
        Assert.Equal([ChatRole.System, ChatRole.System, ChatRole.User, ChatRole.Assistant, ChatRole.Tool, ChatRole.Assistant], m.Select(x => x.Role));
        Assert.Equal("Be brief.", m[0].Text);
        Assert.Equal("Two\nparts", m[1].Text);
        Assert.Equal("ann", m[2].AuthorName);
        FunctionCallContent call = Assert.IsType<FunctionCallContent>(Assert.Single(m[3].Contents));
        Assert.Equal(("call_1", "get_weather"), (call.CallId, call.Name));
        Assert.Equal("Oslo", ((JsonElement)call.Arguments!["city"]!).GetString());
        Assert.Equal(3, ((JsonElement)call.Arguments["days"]!).GetInt32());
        FunctionResultContent result = Assert.IsType<FunctionResultContent>(Assert.Single(m[4].Contents));
        Assert.Equal(("call_1", "Rain"), (result.CallId, (string?)result.Result));
        Assert.Equal("It rains.", m[5].Text);
    }

    [Fact]
    public void AbsentFieldsStayUnset()
    {
        MappedChatRequest request = Map("""{"model":"m","messages":[{"role":"user","content":"x"}]}""");
        ChatOptions o = request.Options;
        Assert.False(request.Stream);
        Assert.Null(o.Temperature);
        Assert.Null(o.MaxOutputTokens);
        Assert.Null(o.Tools);
        Assert.Null(o.ToolMode);
        Assert.Null(o.ResponseFormat);
        Assert.Null(o.AdditionalProperties);
        Assert.Null(o.StopSequences);
    }

    private static readonly JsonSerializerOptions Options = OpenAIJson.Wire.Options;

    [Fact]
    public void AResponseWithTextBecomesACompletionInOpenAIsShape()
    {
        var response = new ChatResponse(new ChatMessage(ChatRole.Assistant, "Hello \"there\""))
        {
            FinishReason = ChatFinishReason.Stop,
            Usage = new UsageDetails { InputTokenCount = 10, OutputTokenCount = 3, TotalTokenCount = 13, CachedInputTokenCount = 8 },
        };
        string json = JsonSerializer.Serialize(OpenAIChatMapper.ToCompletion(response.ToChatResponseUpdates(), "chatcmpl-1", "m", 1700000000, logProbabilities: false), Options);

        AssertJson("""
            {"id":"chatcmpl-1","object":"chat.completion","created":1700000000,"model":"m",
             "choices":[{"index":0,"message":{"role":"assistant","content":"Hello \"there\"","refusal":null},"logprobs":null,"finish_reason":"stop"}],
             "usage":{"prompt_tokens":10,"completion_tokens":3,"total_tokens":13,"prompt_tokens_details":{"cached_tokens":8}}}
            """, json);
        Assert.Contains("Hello \\\"there\\\"", json, StringComparison.Ordinal);
    }

    [Fact]
    public void AResponseWithToolCallsHasNullContentAndArgumentsAsAJsonString()
    {
        var call = new FunctionCallContent("call_9", "get_weather", new Dictionary<string, object?> { ["city"] = "Oslo", ["days"] = 2 });
        var response = new ChatResponse(new ChatMessage(ChatRole.Assistant, [call])) { FinishReason = ChatFinishReason.ToolCalls };
        string json = JsonSerializer.Serialize(OpenAIChatMapper.ToCompletion(response.ToChatResponseUpdates(), "chatcmpl-2", "m", 1, logProbabilities: false), Options);

        AssertJson("""
            {"id":"chatcmpl-2","object":"chat.completion","created":1,"model":"m",
             "choices":[{"index":0,"message":{"role":"assistant","content":null,"refusal":null,
               "tool_calls":[{"id":"call_9","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Oslo\",\"days\":2}"}}]},
               "logprobs":null,"finish_reason":"tool_calls"}]}
            """, json);
    }

    [Fact]
    public void UpdatesBecomeChunksWithTheRoleFirstThenFinishThenUsage()
    {
        var stream = new ChunkStream("chatcmpl-3", "m", 5, includeUsage: true);
        ChatResponseUpdate[] updates =
        [
            new(ChatRole.Assistant, "Hel"),
            new(ChatRole.Assistant, "lo"),
            new(ChatRole.Assistant, [new FunctionCallContent("call_a", "f", new Dictionary<string, object?>()), new FunctionCallContent("call_b", "g", new Dictionary<string, object?> { ["x"] = 1 })]),
            new(ChatRole.Assistant, [new UsageContent(new UsageDetails { InputTokenCount = 4, OutputTokenCount = 2, TotalTokenCount = 6 })]) { FinishReason = ChatFinishReason.ToolCalls },
        ];
        string[] chunks = [.. updates.SelectMany(u => OpenAIChatMapper.ToChunks(u, stream)).Select(c => JsonSerializer.Serialize(c, Options))];

        static string Chunk(string choices, string usage = "") =>
            """{"id":"chatcmpl-3","object":"chat.completion.chunk","created":5,"model":"m","choices":""" + choices + (usage.Length > 0 ? ""","usage":""" + usage : "") + "}";
        Assert.Equal(5, chunks.Length);
        AssertJson(Chunk("""[{"index":0,"delta":{"role":"assistant","content":"Hel"},"logprobs":null,"finish_reason":null}]"""), chunks[0]);
        AssertJson(Chunk("""[{"index":0,"delta":{"content":"lo"},"logprobs":null,"finish_reason":null}]"""), chunks[1]);
        AssertJson(Chunk("""
            [{"index":0,"delta":{"tool_calls":[
              {"index":0,"id":"call_a","type":"function","function":{"name":"f","arguments":"{}"}},
              {"index":1,"id":"call_b","type":"function","function":{"name":"g","arguments":"{\"x\":1}"}}]},"logprobs":null,"finish_reason":null}]
            """), chunks[2]);
        AssertJson(Chunk("""[{"index":0,"delta":{},"logprobs":null,"finish_reason":"tool_calls"}]"""), chunks[3]);
        AssertJson(Chunk("[]", """{"prompt_tokens":4,"completion_tokens":2,"total_tokens":6,"prompt_tokens_details":{"cached_tokens":0}}"""), chunks[4]);
    }

    [Fact]
    public void WithoutIncludeUsageNoUsageChunk()
    {
        var stream = new ChunkStream("c", "m", 1, includeUsage: false);
        var last = new ChatResponseUpdate(ChatRole.Assistant, [new UsageContent(new UsageDetails { InputTokenCount = 1 })]) { FinishReason = ChatFinishReason.Length };
        var chunks = OpenAIChatMapper.ToChunks(last, stream).ToList();
        // The role chunk (nothing was sent before) and the finish chunk.
        Assert.Equal(2, chunks.Count);
        Assert.Equal("assistant", chunks[0].Choices[0].Delta.Role);
        Assert.Equal("length", chunks[1].Choices[0].FinishReason);
        Assert.All(chunks, c => Assert.Null(c.Usage));
    }

    [Theory]
    [InlineData("http://127.0.0.1:8000", true)]
    [InlineData("http://localhost:5000", true)]
    [InlineData("http://[::1]:8000", true)]
    [InlineData("http://0.0.0.0:8000", false)]
    [InlineData("http://[::]:8000", false)]
    [InlineData("http://+:80", false)]
    [InlineData("http://192.0.2.7:8000", false)]
    public void LoopbackAddresses(string address, bool loopback) => Assert.Equal(loopback, OpenAccessWarning.IsLoopback(address));

    private static void AssertJson(string expected, string actual) =>
        Assert.True(JsonNode.DeepEquals(JsonNode.Parse(expected), JsonNode.Parse(actual)), $"expected {expected}\nactual   {actual}");
}
