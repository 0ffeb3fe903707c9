using System.Net;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;
using Json.Schema;
using Microsoft.Extensions.AI;

namespace Dbrx.Server.Tests;

/// <summary>
/// A hostile or careless client against a real server: what it sends is bounded (messages, tools, schemas), errors
/// name the wire's fields and nothing of the server's insides, a schema's name never changes what is enforced, the
/// JSON-schema cache stays within its budget however many distinct schemas arrive, a schema's compilation stops when
/// its client hangs up, and plain requests beside all this keep being answered. Each test starts its own server; they
/// run in the "Load" collection, alone, because OpenTelemetry's listener reads every meter of the server's name in
/// the process, so servers running side by side would see each other's figures in <c>/metrics</c>.
/// </summary>
[Collection("Load")]
public sealed class UntrustedClientTests(TinyModel model)
{
    private static CancellationToken Cancellation => TestContext.Current.CancellationToken;

    private const string Hello = """[{"role":"user","content":"Hello"}]""";

    /// <summary>Words no error a client gets may contain: .NET types and members, options only the operator can set.</summary>
    private static readonly string[] Internals =
        ["Dbrx", "Options.", "(Parameter", "MaxNewTokens", "MaxOutputTokens", "ContextLength", "DropOldestMessages", "TruncatePromptFromLeft", "Exception", "   at ", "/pytorch/", ".cs:line"];

    private static void AssertNoInternals(JsonElement error)
    {
        string text = error.GetRawText();
        foreach (string word in Internals)
            Assert.DoesNotContain(word, text, StringComparison.Ordinal);
    }

    private static string Exponential(int n, string tail = "") => $"^(a|b)*a(a|b){{{n}}}{tail}$";

    private static string SchemaFormat(string schema, string name = "answer") =>
        "{\"type\":\"json_schema\",\"json_schema\":{\"name\":\"" + name + "\",\"strict\":true,\"schema\":" + schema + "}}";

    /// <summary>A chat completion request: the model, these messages, and the given fields (JSON text each).</summary>
    private static string Request(string messages = Hello, params (string Name, string Json)[] fields) =>
        "{\"model\":\"tiny-dbrx\",\"messages\":" + messages + string.Concat(fields.Select(f => ",\"" + f.Name + "\":" + f.Json)) + "}";

    private static string Properties(IEnumerable<string> properties) =>
        "{\"type\":\"object\",\"properties\":{" + string.Join(",", properties) + "}}";

    private static Task<HttpResponseMessage> Post(DbrxTestServer server, string body, CancellationToken cancellation = default) =>
        server.Http.PostAsync("/v1/chat/completions", new StringContent(body, Encoding.UTF8, "application/json"), cancellation == default ? Cancellation : cancellation);

    [Fact]
    public async Task Errors_from_the_model_side_name_the_wire_fields_and_nothing_internal()
    {
        await using var server = await DbrxTestServer.StartAsync(model, client => client.MaxSchemaStates = 20_000);
        string longString = """{"type":"object","properties":{"s":{"type":"string","minLength":200}},"required":["s"]}""";
        string exponential = Properties([$"\"code\":{{\"type\":\"string\",\"pattern\":\"{Exponential(16)}\"}}"]);
        (string Body, string Param, string Says)[] cases =
        [
            (Request(fields: ("max_tokens", "5000")), "messages", "'max_tokens'"),
            (Request(fields: [("max_completion_tokens", "3"), ("response_format", SchemaFormat(longString))]), "max_completion_tokens", "'max_completion_tokens'"),
            (Request(fields: ("logit_bias", """{"999999":5}""")), "logit_bias", "'logit_bias'"),
            (Request(fields: ("response_format", SchemaFormat(exponential))), "response_format.json_schema.schema", "#/properties/code/pattern"),
            (Request(fields: ("response_format", SchemaFormat("""{"type":"object","unevaluatedProperties":false}"""))), "response_format.json_schema.schema", "unevaluatedProperties"),
            (Request(fields: [("tool_choice", "\"required\""), ("tools", """[{"type":"function","function":{"name":"ok","parameters":{"type":"object"}}},{"type":"function","function":{"name":"bad","parameters":""" + exponential + "}}]")]), "tools[1].function.parameters", "tool 'bad'"),
        ];
        foreach (var (body, param, says) in cases)
        {
            JsonElement error = await BadInputTests.ExpectError(await Post(server, body), HttpStatusCode.BadRequest);
            Assert.Equal(param, error.GetProperty("param").GetString());
            Assert.Contains(says, error.GetProperty("message").GetString(), StringComparison.Ordinal);
            AssertNoInternals(error);
        }
        // The schema over the limit names the limit, so the operator knows what to raise.
        JsonElement limit = await BadInputTests.ExpectError(await Post(server, Request(fields: ("response_format", SchemaFormat(exponential)))), HttpStatusCode.BadRequest);
        Assert.Contains("the server's limit MaxSchemaStates", limit.GetProperty("message").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_server_error_says_where_to_look_and_nothing_of_what_failed()
    {
        await using var server = await DbrxTestServer.StartAsync(model, layer: inner => new FailingChatClient(inner));
        string whole = Request("""[{"role":"user","content":"fail at once"}]""");
        using HttpResponseMessage response = await Post(server, whole);
        JsonElement error = await BadInputTests.ExpectError(response, HttpStatusCode.InternalServerError);
        Assert.Equal("server_error", error.GetProperty("type").GetString());
        Assert.Matches(@"^The server failed to answer; see its log \(request id [^)]+\)\.$", error.GetProperty("message").GetString());
        AssertNoInternals(error);

        // Streaming: the failure after the first chunk ends the stream with an error event of the same kind.
        string streamed = Request("""[{"role":"user","content":"fail later"}]""", ("stream", "true"), ("max_tokens", "8"));
        using HttpResponseMessage stream = await Post(server, streamed);
        Assert.Equal(HttpStatusCode.OK, stream.StatusCode);
        string events = await stream.Content.ReadAsStringAsync(Cancellation);
        string last = events.Split("\n\n", StringSplitOptions.RemoveEmptyEntries)[^1];
        JsonElement streamError = JsonDocument.Parse(last["data: ".Length..]).RootElement.GetProperty("error");
        Assert.Matches(@"^The server failed to answer; see its log \(request id [^)]+\)\.$", streamError.GetProperty("message").GetString());
        AssertNoInternals(streamError);
    }

    [Fact]
    public async Task Messages_and_tools_beyond_the_limits_are_refused_naming_the_field()
    {
        await using var server = await DbrxTestServer.StartAsync(model, server: options => (options.MaxMessages, options.MaxTools) = (4, 2));
        string messages = "[" + string.Join(",", Enumerable.Range(0, 5).Select(i => $$"""{"role":"user","content":"m{{i}}"}""")) + "]";
        JsonElement tooMany = await BadInputTests.ExpectError(await Post(server, Request(messages)), HttpStatusCode.BadRequest);
        Assert.Equal("messages", tooMany.GetProperty("param").GetString());
        Assert.Contains("at most 4", tooMany.GetProperty("message").GetString(), StringComparison.Ordinal);
        string tools = "[" + string.Join(",", Enumerable.Range(0, 3).Select(i => "{\"type\":\"function\",\"function\":{\"name\":\"t" + i + "\"}}")) + "]";
        JsonElement tooManyTools = await BadInputTests.ExpectError(await Post(server, Request(fields: ("tools", tools))), HttpStatusCode.BadRequest);
        Assert.Equal("tools", tooManyTools.GetProperty("param").GetString());
        Assert.Contains("at most 2", tooManyTools.GetProperty("message").GetString(), StringComparison.Ordinal);
    }

    /// <summary>
    /// A schema named like a .NET type (which was once looked up among the loaded types and its rules replaced) is
    /// enforced as sent.
    /// </summary>
    [Theory]
    [InlineData("TimeSpan", """{"type":"string","pattern":"^[a-z]{3}$"}""")]
    [InlineData("TimeOnly", """{"type":"string","format":"time"}""")]
    [InlineData("Byte", """{"type":"integer","minimum":1000,"maximum":1999}""")]
    public async Task A_schema_named_like_a_dotnet_type_is_enforced_as_sent(string name, string data)
    {
        await using var server = await DbrxTestServer.StartAsync(model);
        string schema = """{"type":"object","properties":{"data":""" + data + """},"required":["data"],"additionalProperties":false}""";
        var validator = JsonSchema.FromText(schema);
        for (int seed = 1; seed <= 3; seed++)
        {
            using HttpResponseMessage response = await Post(server, Request(fields: [("temperature", "1"), ("seed", seed.ToString(System.Globalization.CultureInfo.InvariantCulture)), ("max_tokens", "40"), ("response_format", SchemaFormat(schema, name))]));
            string body = await response.Content.ReadAsStringAsync(Cancellation);
            Assert.True(response.StatusCode == HttpStatusCode.OK, body);
            string content = JsonDocument.Parse(body).RootElement.GetProperty("choices")[0].GetProperty("message").GetProperty("content").GetString()!;
            Assert.True(validator.Evaluate(JsonDocument.Parse(content).RootElement).IsValid, $"{content} does not match {schema}");
            // JsonSchema.Net reads at most 7 fractional digits in a time; RFC 3339's full-time (with its offset) is checked here.
            if (data.Contains("\"time\"", StringComparison.Ordinal))
                Assert.Matches(@"^([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\.[0-9]+)?(Z|[+-]([01][0-9]|2[0-3]):[0-5][0-9])$", JsonDocument.Parse(content).RootElement.GetProperty("data").GetString());
        }
    }

    /// <summary>
    /// Hundreds of distinct, large schemas: the JSON-schema cache (as <c>/metrics</c> reports it) never holds more than
    /// its budget, evicts, and the server keeps answering.
    /// </summary>
    [Fact]
    [Trait("Category", "Slow")]
    public async Task Distinct_large_schemas_keep_the_cache_within_its_budget()
    {
        // Small enough to hold a few schemas with their masks; each schema is rendered into the prompt too, so a
        // schema's size is bounded by the context, and distinct ones are what fills a cache.
        const long budget = 2L << 20;
        await using var server = await DbrxTestServer.StartAsync(model, client => client.JsonCacheBytes = budget);
        for (int i = 0; i < 120; i++)
        {
            string schema = "{\"type\":\"object\",\"properties\":{\"id" + i + "\":{\"type\":\"string\",\"pattern\":\"^[a-z]{" + (i % 5 + 1) + "}-" + i
                + "$\"},\"n\":{\"type\":\"integer\",\"minimum\":" + i + "}},\"required\":[\"id" + i + "\",\"n\"],\"additionalProperties\":false}";
            using HttpResponseMessage response = await Post(server, Request(fields: [("max_tokens", "24"), ("response_format", SchemaFormat(schema))]));
            Assert.True(response.StatusCode == HttpStatusCode.OK, await response.Content.ReadAsStringAsync(Cancellation));
            if (i % 20 == 19)
                Assert.InRange(await server.MetricAsync("dbrx_json_cache_size_bytes"), 0, budget);
        }
        Assert.True(await server.MetricAsync("dbrx_json_cache_evictions_total") > 20);
        Assert.True(await server.MetricAsync("dbrx_json_cache_misses_total") >= 120);
    }

    /// <summary>
    /// A schema that takes very long to compile (limits raised so that only cancellation can stop it): its client hangs
    /// up, and the request ends as cancelled without compiling on, so the server answers the next client.
    /// </summary>
    [Fact]
    public async Task A_compilation_stops_when_its_client_hangs_up()
    {
        await using var server = await DbrxTestServer.StartAsync(model, client =>
        {
            client.MaxSchemaStates = 100_000_000;
            client.MaxSchemaBytes = 1L << 40;
            client.MaxSchemaCompileTime = TimeSpan.FromHours(1);
        });
        var properties = Enumerable.Range(0, 60).Select(i => $"\"p{i}\":{{\"type\":\"string\",\"pattern\":\"{Exponential(14, "x" + i)}\"}}");
        string schema = Properties(properties);
        long cancelled = server.Counted("cancelled");
        double misses = await server.MetricAsync("dbrx_json_cache_misses_total");
        using (var hangUp = new CancellationTokenSource())
        {
            Task<HttpResponseMessage> compiling = Post(server, Request(fields: ("response_format", SchemaFormat(schema))), hangUp.Token);
            // Under way once the schema and its first pattern were looked up in the cache and missed; the cache's
            // counters on /metrics are the only view of that, so they are polled.
            using (var hangGuard = CancellationTokenSource.CreateLinkedTokenSource(Cancellation))
            {
                hangGuard.CancelAfter(TimeSpan.FromMinutes(2));
                while (await server.MetricAsync("dbrx_json_cache_misses_total") < misses + 2)
                    await Task.Delay(20, hangGuard.Token);
            }
            await hangUp.CancelAsync();
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => compiling);
        }
        // Counted when the request's handler returns: only once the compilation has stopped.
        await server.WhenCountedAsync(cancelled + 1, "cancelled");
        using HttpResponseMessage next = await Post(server, Request(fields: ("max_tokens", "2")));
        Assert.Equal(HttpStatusCode.OK, next.StatusCode);
    }

    /// <summary>
    /// Plain requests beside a client that keeps sending schemas with many distinct patterns (which used to make the
    /// server allocate, collect, and free Scalars libtorch was reading): every plain request is answered.
    /// </summary>
    [Fact]
    [Trait("Category", "Slow")]
    public async Task Plain_requests_beside_schema_pressure_are_all_answered()
    {
        await using var server = await DbrxTestServer.StartAsync(model, client => client.MaxBatchSize = 4);
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(Cancellation);
        async Task Pressure()
        {
            for (int round = 0; !stop.IsCancellationRequested; round++)
            {
                var properties = Enumerable.Range(0, 60).Select(i => $"\"p{i}\":{{\"type\":\"string\",\"pattern\":\"^[a-z]{{{i % 4 + 1}}}-{round}-{i}$\"}}");
                string schema = Properties(properties);
                try
                {
                    using HttpResponseMessage response = await Post(server, Request(fields: [("max_tokens", "16"), ("response_format", SchemaFormat(schema))]), stop.Token);
                }
                catch (OperationCanceledException) when (stop.IsCancellationRequested)
                {
                }
            }
        }
        async Task<int> Plain(int client)
        {
            int answered = 0;
            for (int i = 0; i < 20; i++)
            {
                string ping = "[{\"role\":\"user\",\"content\":\"ping " + client + " " + i + "\"}]";
                using HttpResponseMessage response = await Post(server, Request(ping, ("max_tokens", "8"), ("temperature", "0.7"), ("top_k", "40"), ("top_p", "0.9")));
                Assert.True(response.StatusCode == HttpStatusCode.OK, await response.Content.ReadAsStringAsync(Cancellation));
                answered++;
            }
            return answered;
        }
        Task pressure = Task.Run(Pressure, Cancellation);
        int[] answered = await Task.WhenAll(Enumerable.Range(0, 3).Select(Plain));
        await stop.CancelAsync();
        await pressure;
        Assert.Equal([20, 20, 20], answered);
        Assert.Equal(0, await server.MetricAsync("dbrx_server_requests_total", "outcome=\"error\""));
    }

    /// <summary>Fails when asked to: at once ("fail at once"), or after the first update ("fail later"), with what a native failure looks like.</summary>
    private sealed class FailingChatClient(IChatClient inner) : DelegatingChatClient(inner)
    {
        private const string Native = "Expected false to be true, but got false. Exception raised from toFloat at /pytorch/c10/core/Scalar.h:140 (most recent call first):\nframe #0: c10::Error::Error(...)";

        public override async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
        {
            string text = messages.Last().Text;
            if (text.Contains("fail at once", StringComparison.Ordinal))
                throw new InvalidOperationException(Native);
            await foreach (ChatResponseUpdate update in base.GetStreamingResponseAsync(messages, options, cancellationToken))
            {
                yield return update;
                if (text.Contains("fail later", StringComparison.Ordinal))
                    throw new InvalidOperationException(Native);
            }
        }
    }
}
