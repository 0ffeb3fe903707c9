using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;

namespace Dbrx.Server.Tests;

/// <summary>
/// Every kind of bad request gets its status and an OpenAI error object (message, type, param, code), quickly, and the
/// server goes on serving.
/// </summary>
[Collection("Server")]
public sealed class BadInputTests(ServerFixture fixture)
{
    private readonly DbrxTestServer server = fixture.Server;
    private static CancellationToken Cancellation => TestContext.Current.CancellationToken;

    private const string Hello = """[{"role":"user","content":"Hello"}]""";

    [Theory]
    [InlineData("""{"model":"tiny-dbrx","messages":""" + Hello + ""","temperature":"hot"}""", "temperature", "expected a number")]
    [InlineData("""{"model":"tiny-dbrx","messages":""" + Hello + ""","max_tokens":2.5}""", "max_tokens", "expected an integer")]
    [InlineData("""{"model":"tiny-dbrx","messages":[{"role":"user","content":5}]}""", "messages[0].content", "string or an array")]
    [InlineData("""{"model":"tiny-dbrx","messages":"Hello"}""", "messages", "expected an array")]
    [InlineData("""{"model":"tiny-dbrx","messages":[{"role":"user","content":[{"type":"text","text":"Hi"},{"type":"image_url","image_url":{"url":"https://x/y.png"}}]}]}""", "messages[0].content[1]", "'image_url' part")]
    [InlineData("""{"model":"tiny-dbrx","messages":[{"role":"user","content":[{"type":"input_audio","input_audio":{"data":"","format":"wav"}}]}]}""", "messages[0].content[0]", "'input_audio' part")]
    [InlineData("""{"model":"tiny-dbrx","messages":[{"role":"function","content":"x"}]}""", "messages[0].role", "'function'")]
    [InlineData("""{"model":"tiny-dbrx","messages":[{"role":"tool","content":"x"}]}""", "messages[0].tool_call_id", "is required")]
    [InlineData("""{"model":"tiny-dbrx","messages":[{"role":"assistant","tool_calls":[{"id":"c1","type":"function","function":{"name":"f","arguments":"{oops"}}]}]}""", "messages[0].tool_calls[0].function.arguments", "JSON object")]
    [InlineData("""{"model":"tiny-dbrx","messages":[]}""", "messages", "non-empty")]
    [InlineData("""{"messages":""" + Hello + "}", "model", "'model'")]
    [InlineData("""{"model":"tiny-dbrx","messages":""" + Hello + ""","n":9}""", "n", "must be between 1 and 8")]
    [InlineData("""{"model":"tiny-dbrx","messages":""" + Hello + ""","n":0}""", "n", "must be between 1 and 8")]
    [InlineData("""{"model":"tiny-dbrx","messages":""" + Hello + ""","top_logprobs":3}""", "top_logprobs", "needs 'logprobs' set to true")]
    [InlineData("""{"model":"tiny-dbrx","messages":""" + Hello + ""","logprobs":true,"top_logprobs":21}""", "top_logprobs", "between 0 and 20")]
    [InlineData("""{"model":"tiny-dbrx","messages":""" + Hello + ""","temperature":3}""", "temperature", "[0, 2]")]
    [InlineData("""{"model":"tiny-dbrx","messages":""" + Hello + ""","top_p":0}""", "top_p", "(0, 1]")]
    [InlineData("""{"model":"tiny-dbrx","messages":""" + Hello + ""","max_completion_tokens":0}""", "max_completion_tokens", "at least 1")]
    [InlineData("""{"model":"tiny-dbrx","messages":""" + Hello + ""","stop":[1]}""", "stop[0]", "must be a string")]
    [InlineData("""{"model":"tiny-dbrx","messages":""" + Hello + ""","logit_bias":{"abc":1}}""", "logit_bias", "not a token id")]
    [InlineData("""{"model":"tiny-dbrx","messages":""" + Hello + ""","logit_bias":{"5":500}}""", "logit_bias", "[-100, 100]")]
    [InlineData("""{"model":"tiny-dbrx","messages":""" + Hello + ""","response_format":{"type":"yaml"}}""", "response_format.type", "'yaml'")]
    [InlineData("""{"model":"tiny-dbrx","messages":""" + Hello + ""","tools":[{"type":"function","function":{"name":"f"}}],"tool_choice":{"type":"function","function":{"name":"g"}}}""", "tool_choice", "'g'")]
    [InlineData("""{"model":"tiny-dbrx","messages":""" + Hello + ""","tool_choice":"required"}""", "tool_choice", "'tools' is empty")]
    [InlineData("""{"model":"tiny-dbrx","messages":""" + Hello + ""","tools":[{"type":"retrieval"}]}""", "tools[0].type", "'function'")]
    public async Task AWrongFieldIsA400NamingIt(string body, string param, string message)
    {
        JsonElement error = await ExpectError(await Post(body), HttpStatusCode.BadRequest);
        Assert.Equal(param, error.GetProperty("param").GetString());
        Assert.Contains(message, error.GetProperty("message").GetString(), StringComparison.Ordinal);
        await AssertStillServing();
    }

    [Theory]
    [InlineData("""{"model":"tiny-dbrx","messages":""")]
    [InlineData("not json at all")]
    [InlineData("")]
    [InlineData("null")]
    [InlineData("""{"model":"tiny-dbrx","messages":[{"role":"user","content":"a"}],}""")]
    public async Task MalformedJsonIsA400(string body)
    {
        JsonElement error = await ExpectError(await Post(body), HttpStatusCode.BadRequest);
        Assert.Equal("invalid_request_error", error.GetProperty("type").GetString());
        await AssertStillServing();
    }

    [Fact]
    public async Task ByteLevelGarbageIsA400()
    {
        var random = new Random(16);
        for (int i = 0; i < 20; i++)
        {
            byte[] garbage = new byte[random.Next(1, 4096)];
            random.NextBytes(garbage);
            using var content = new ByteArrayContent(garbage);
            content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
            await ExpectError(await server.Http.PostAsync("/v1/chat/completions", content, Cancellation), HttpStatusCode.BadRequest);
        }
        await AssertStillServing();
    }

    [Fact]
    public async Task DeeplyNestedJsonIsA400()
    {
        string deep = new string('[', 100_000) + new string(']', 100_000);
        JsonElement error = await ExpectError(await Post($$"""{"model":"tiny-dbrx","messages":{{Hello}},"extra":{{deep}}}"""), HttpStatusCode.BadRequest);
        Assert.Contains("depth", error.GetProperty("message").GetString(), StringComparison.Ordinal);
        await AssertStillServing();
    }

    [Theory]
    [InlineData(10_000, "at most 2,048")]          // beyond DbrxServerOptions.MaxMessages
    [InlineData(2_000, "context of 2,048 tokens")]  // within it, beyond the context
    public async Task ThousandsOfMessagesAreA400NamingTheLimitOrTheContext(int count, string says)
    {
        string messages = string.Join(",", Enumerable.Range(0, count).Select(i => $$"""{"role":"{{(i % 2 == 0 ? "user" : "assistant")}}","content":"message {{i}}"}"""));
        JsonElement error = await ExpectError(await Post($$"""{"model":"tiny-dbrx","messages":[{{messages}}]}"""), HttpStatusCode.BadRequest);
        Assert.Contains(says, error.GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.Equal("messages", error.GetProperty("param").GetString());
        await AssertStillServing();
    }

    [Fact]
    public async Task AnOverLongAnswerIsA400NamingTheContext()
    {
        JsonElement error = await ExpectError(await Post($$"""{"model":"tiny-dbrx","messages":{{Hello}},"max_tokens":5000}"""), HttpStatusCode.BadRequest);
        Assert.Matches("context of 2,?048 tokens", error.GetProperty("message").GetString());
        await AssertStillServing();
    }

    [Fact]
    public async Task A50MegabyteBodyIsA413()
    {
        byte[] body = Encoding.UTF8.GetBytes("""{"model":"tiny-dbrx","messages":[{"role":"user","content":" """ + new string('a', 50 * 1024 * 1024) + "\"}]}");
        // As curl and other clients send a large body: its Content-Length, and the body only after "100 Continue", which
        // never comes: the 413 does, at once.
        using (var request = new HttpRequestMessage(HttpMethod.Post, "/v1/chat/completions") { Content = new ByteArrayContent(body) })
        {
            request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
            request.Headers.ExpectContinue = true;
            JsonElement error = await ExpectError(await server.Http.SendAsync(request, Cancellation), HttpStatusCode.RequestEntityTooLarge);
            Assert.Contains("8388608 bytes", error.GetProperty("message").GetString(), StringComparison.Ordinal);
            Assert.Equal("request_too_large", error.GetProperty("code").GetString());
        }

        // Chunked, without a length, the read stops at the limit: a 413, and the connection closes (a client still
        // sending may see only the close).
        double tooLarge = await server.MetricAsync("dbrx_server_requests_total", "outcome=\"too_large\"");
        using (var request = new HttpRequestMessage(HttpMethod.Post, "/v1/chat/completions") { Content = new StreamContent(new MemoryStream(body)) })
        {
            request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
            request.Headers.TransferEncodingChunked = true;
            try
            {
                await ExpectError(await server.Http.SendAsync(request, Cancellation), HttpStatusCode.RequestEntityTooLarge);
            }
            catch (HttpRequestException e) when (e.InnerException is IOException)
            {
                // The server closed the connection while the client was still sending.
            }
        }
        Assert.Equal(tooLarge + 1, await server.MetricAsync("dbrx_server_requests_total", "outcome=\"too_large\""));
        await AssertStillServing();
    }

    [Fact]
    public async Task AnUnknownModelIsA404()
    {
        JsonElement error = await ExpectError(await Post($$"""{"model":"gpt-4o","messages":{{Hello}}}"""), HttpStatusCode.NotFound);
        Assert.Equal("model_not_found", error.GetProperty("code").GetString());
        Assert.Equal("model", error.GetProperty("param").GetString());
        await AssertStillServing();
    }

    [Fact]
    public async Task AMissingOrWrongApiKeyIsA401()
    {
        foreach (string? key in new[] { null, "sk-wrong", DbrxTestServer.ApiKey + "x", "" })
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(server.BaseAddress, "/v1/chat/completions"))
            {
                Content = new StringContent($$"""{"model":"tiny-dbrx","messages":{{Hello}}}""", Encoding.UTF8, "application/json"),
            };
            if (key is not null)
                request.Headers.TryAddWithoutValidation("Authorization", "Bearer " + key);
            using var anonymous = new HttpClient();
            JsonElement error = await ExpectError(await anonymous.SendAsync(request, Cancellation), HttpStatusCode.Unauthorized);
            Assert.Equal("invalid_api_key", error.GetProperty("code").GetString());
        }
        await AssertStillServing();
    }

    [Fact]
    public async Task UnknownFieldsAreIgnored()
    {
        using HttpResponseMessage response = await Post($$"""{"model":"tiny-dbrx","messages":{{Hello}},"max_tokens":2,"store":true,"metadata":{"a":"b"},"reasoning_effort":"low","user":"u1","service_tier":"auto"}""");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    private Task<HttpResponseMessage> Post(string body) =>
        server.Http.PostAsync("/v1/chat/completions", new StringContent(body, Encoding.UTF8, "application/json"), Cancellation);

    /// <summary>The status, and an OpenAI error object: a message and a type, a param and a code (each a string or null).</summary>
    internal static async Task<JsonElement> ExpectError(HttpResponseMessage response, HttpStatusCode status)
    {
        using (response)
        {
            string body = await response.Content.ReadAsStringAsync(Cancellation);
            Assert.True(status == response.StatusCode, $"{(int)response.StatusCode}: {body}");
            Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
            JsonElement error = JsonDocument.Parse(body).RootElement.GetProperty("error");
            Assert.False(string.IsNullOrWhiteSpace(error.GetProperty("message").GetString()));
            Assert.False(string.IsNullOrWhiteSpace(error.GetProperty("type").GetString()));
            Assert.True(error.GetProperty("param").ValueKind is JsonValueKind.String or JsonValueKind.Null);
            Assert.True(error.GetProperty("code").ValueKind is JsonValueKind.String or JsonValueKind.Null);
            return error.Clone();
        }
    }

    /// <summary>
    /// A body cut short (the client stops sending, or drops the connection, before its Content-Length) is the client's
    /// doing: it is counted as a bad request or a cancellation, never as a server error, and a client still reading gets
    /// a 400 that says the body could not be read.
    /// </summary>
    [Fact]
    public async Task ABodyCutShortIsTheClientsFaultNotAServerError()
    {
        string[] blamedOnClient = ["bad_request", "cancelled"];
        long errors = server.Counted("error"), counted = server.Counted([.. blamedOnClient, "error"]);
        byte[] head = Encoding.ASCII.GetBytes($"POST /v1/chat/completions HTTP/1.1\r\nHost: {server.BaseAddress.Authority}\r\nAuthorization: Bearer {DbrxTestServer.ApiKey}\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{{\"model\":\"tiny-dbrx\",");

        // Which of Kestrel's signals comes first (the aborted request or the short body) varies, so each way is tried a few times.
        const int tries = 5;
        for (int i = 0; i < tries; i++)
        {
            // The client stops sending but waits for the answer.
            using (var halfClosed = new Socket(SocketType.Stream, ProtocolType.Tcp))
            {
                await halfClosed.ConnectAsync(server.BaseAddress.Host, server.BaseAddress.Port, Cancellation);
                using var reader = new StreamReader(new NetworkStream(halfClosed));
                await halfClosed.SendAsync(head, Cancellation);
                halfClosed.Shutdown(SocketShutdown.Send);
                string answer;
                try
                {
                    answer = await reader.ReadToEndAsync(Cancellation);
                }
                catch (IOException)
                {
                    answer = ""; // Kestrel may reset the connection instead
                }
                if (answer.Length > 0) // Kestrel usually closes at once when the client stops sending
                {
                    Assert.StartsWith("HTTP/1.1 400", answer, StringComparison.Ordinal);
                    Assert.Contains("could not be read", answer, StringComparison.Ordinal);
                }
            }

            // The client drops the connection.
            using (var dropped = new Socket(SocketType.Stream, ProtocolType.Tcp))
            {
                await dropped.ConnectAsync(server.BaseAddress.Host, server.BaseAddress.Port, Cancellation);
                await dropped.SendAsync(head, Cancellation);
                dropped.LingerState = new LingerOption(true, 0); // a reset, as a killed process leaves
                dropped.Close();
            }
        }

        // A reset that comes before Kestrel has read the headers never becomes a request, so not every try is counted;
        // those that are must be the client's.
        await server.WhenCountedAsync(counted + tries, [.. blamedOnClient, "error"]);
        await AssertStillServing();
        Assert.Equal(errors, server.Counted("error"));
    }

    private async Task AssertStillServing()
    {
        using HttpResponseMessage response = await Post($$"""{"model":"tiny-dbrx","messages":{{Hello}},"max_tokens":3,"temperature":0}""");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using JsonDocument answer = JsonDocument.Parse(await response.Content.ReadAsStringAsync(Cancellation));
        Assert.Equal(3, answer.RootElement.GetProperty("usage").GetProperty("completion_tokens").GetInt32());
    }
}
