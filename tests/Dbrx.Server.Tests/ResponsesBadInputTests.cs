using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;

namespace Dbrx.Server.Tests;

/// <summary>
/// Every kind of bad <c>/v1/responses</c> request gets its status and an OpenAI error object (message, type, param,
/// code), and the server goes on serving.
/// </summary>
[Collection("Server")]
public sealed class ResponsesBadInputTests(ServerFixture fixture)
{
    private readonly DbrxTestServer server = fixture.Server;
    private static CancellationToken Cancellation => TestContext.Current.CancellationToken;

    private const string Tool = """{"type":"function","name":"f","parameters":{"type":"object","properties":{}}}""";

    [Theory]
    [InlineData("""{"input":"Hi"}""", "model", "'model'")]
    [InlineData("""{"model":"tiny-dbrx"}""", "input", "non-empty")]
    [InlineData("""{"model":"tiny-dbrx","input":[]}""", "input", "non-empty")]
    [InlineData("""{"model":"tiny-dbrx","input":5}""", "input", "string or an array")]
    [InlineData("""{"model":"tiny-dbrx","input":"Hi","temperature":"hot"}""", "temperature", "expected a number")]
    [InlineData("""{"model":"tiny-dbrx","input":"Hi","temperature":3}""", "temperature", "[0, 2]")]
    [InlineData("""{"model":"tiny-dbrx","input":"Hi","top_p":0}""", "top_p", "(0, 1]")]
    [InlineData("""{"model":"tiny-dbrx","input":"Hi","max_output_tokens":0}""", "max_output_tokens", "at least 1")]
    [InlineData("""{"model":"tiny-dbrx","input":"Hi","max_output_tokens":"ten"}""", "max_output_tokens", "expected an integer")]
    [InlineData("""{"model":"tiny-dbrx","input":"Hi","stream":"yes"}""", "stream", "expected a boolean")]
    [InlineData("""{"model":"tiny-dbrx","input":"Hi","instructions":7}""", "instructions", "expected a string")]
    [InlineData("""{"model":"tiny-dbrx","input":["Hi"]}""", "input[0]", "item object")]
    [InlineData("""{"model":"tiny-dbrx","input":[{"role":"user","content":5}]}""", "input[0].content", "string or an array")]
    [InlineData("""{"model":"tiny-dbrx","input":[{"role":"user"}]}""", "input[0].content", "is required")]
    [InlineData("""{"model":"tiny-dbrx","input":[{"role":"tool","content":"x"}]}""", "input[0].role", "'tool'")]
    [InlineData("""{"model":"tiny-dbrx","input":[{"type":"message","role":"user","content":[{"type":"input_image","image_url":"https://x/y.png"}]}]}""", "input[0].content[0]", "'input_image' part")]
    [InlineData("""{"model":"tiny-dbrx","input":[{"type":"message","role":"user","content":[{"type":"input_text"}]}]}""", "input[0].content[0].text", "must be a string")]
    [InlineData("""{"model":"tiny-dbrx","input":[{"type":"reasoning","summary":[]}]}""", "input[0].type", "'reasoning'")]
    [InlineData("""{"model":"tiny-dbrx","input":[{"type":"item_reference","id":"msg_1"}]}""", "input[0].type", "'item_reference'")]
    [InlineData("""{"model":"tiny-dbrx","input":[{"content":"Hi"}]}""", "input[0].type", "'type'")]
    [InlineData("""{"model":"tiny-dbrx","input":[{"type":"function_call","name":"f","arguments":"{}"}]}""", "input[0].call_id", "is required")]
    [InlineData("""{"model":"tiny-dbrx","input":[{"type":"function_call","call_id":"c1","name":"f","arguments":"{oops"}]}""", "input[0].arguments", "JSON object")]
    [InlineData("""{"model":"tiny-dbrx","input":[{"type":"function_call_output","call_id":"c1"}]}""", "input[0].output", "is required")]
    [InlineData("""{"model":"tiny-dbrx","input":[{"type":"function_call_output","call_id":"","output":"x"}]}""", "input[0].call_id", "must not be empty")]
    [InlineData("""{"model":"tiny-dbrx","input":"Hi","tools":[{"type":"web_search_preview"}]}""", "tools[0].type", "'web_search_preview'")]
    [InlineData("""{"model":"tiny-dbrx","input":"Hi","tools":[{"type":"file_search","vector_store_ids":["vs_1"]}]}""", "tools[0].type", "'function' tools only")]
    [InlineData("""{"model":"tiny-dbrx","input":"Hi","tools":[{"type":"function","name":"bad name"}]}""", "tools[0].name", "1 to 64 letters")]
    [InlineData("""{"model":"tiny-dbrx","input":"Hi","tools":[{"type":"function","name":"f","parameters":3}]}""", "tools[0].parameters", "JSON schema object")]
    [InlineData("""{"model":"tiny-dbrx","input":"Hi","tool_choice":"required"}""", "tool_choice", "'tools' is empty")]
    [InlineData("""{"model":"tiny-dbrx","input":"Hi","tool_choice":"sometimes","tools":[""" + Tool + "]}", "tool_choice", "'sometimes'")]
    [InlineData("""{"model":"tiny-dbrx","input":"Hi","tool_choice":{"type":"function","name":"g"},"tools":[""" + Tool + "]}", "tool_choice", "'g'")]
    [InlineData("""{"model":"tiny-dbrx","input":"Hi","tool_choice":{"type":"web_search_preview"},"tools":[""" + Tool + "]}", "tool_choice.type", "'web_search_preview'")]
    [InlineData("""{"model":"tiny-dbrx","input":"Hi","text":{"format":{"type":"yaml"}}}""", "text.format.type", "'yaml'")]
    [InlineData("""{"model":"tiny-dbrx","input":"Hi","text":{"format":{"type":"json_schema","schema":{"type":"object"}}}}""", "text.format.name", "is required")]
    [InlineData("""{"model":"tiny-dbrx","input":"Hi","text":{"format":{"type":"json_schema","name":"x"}}}""", "text.format.schema", "is required")]
    [InlineData("""{"model":"tiny-dbrx","input":"Hi","text":{"format":{"type":"json_schema","name":"x","schema":[1]}}}""", "text.format.schema", "JSON schema object")]
    [InlineData("""{"model":"tiny-dbrx","input":"Hi","metadata":{"a":1}}""", "metadata.a", "expected a string")]
    public async Task AWrongFieldIsA400NamingIt(string body, string param, string message)
    {
        JsonElement error = await BadInputTests.ExpectError(await Post(body), HttpStatusCode.BadRequest);
        Assert.Equal(param, error.GetProperty("param").GetString());
        Assert.Contains(message, error.GetProperty("message").GetString(), StringComparison.Ordinal);
        await AssertStillServing();
    }

    [Theory]
    [InlineData("""{"model":"tiny-dbrx","input":"Hi","text":{"format":{"type":"json_schema","name":"x","schema":{"type":"object","unevaluatedProperties":false}}}}""", "text.format.schema", "in 'text.format'")]
    [InlineData("""{"model":"tiny-dbrx","input":"Hi","tool_choice":"required","tools":[""" + Tool + """,{"type":"function","name":"bad","parameters":{"type":"object","unevaluatedProperties":false}}]}""", "tools[1].parameters", "tool 'bad'")]
    public async Task ASchemaTheDecoderCannotEnforceIsA400NamingItsField(string body, string param, string message)
    {
        JsonElement error = await BadInputTests.ExpectError(await Post(body), HttpStatusCode.BadRequest);
        Assert.Equal(param, error.GetProperty("param").GetString());
        Assert.Equal("invalid_json_schema", error.GetProperty("code").GetString());
        Assert.Contains(message, error.GetProperty("message").GetString(), StringComparison.Ordinal);
        await AssertStillServing();
    }

    [Fact]
    public async Task MoreThanSixteenMetadataPairsAreA400()
    {
        string pairs = string.Join(",", Enumerable.Range(0, 17).Select(i => $"\"k{i}\":\"v\""));
        JsonElement error = await BadInputTests.ExpectError(await Post($$$"""{"model":"tiny-dbrx","input":"Hi","metadata":{{{{pairs}}}}}"""), HttpStatusCode.BadRequest);
        Assert.Equal("metadata", error.GetProperty("param").GetString());
    }

    [Theory]
    [InlineData("""{"model":"tiny-dbrx","input":""")]
    [InlineData("not json at all")]
    [InlineData("")]
    [InlineData("null")]
    [InlineData("[1,2,3]")]
    public async Task MalformedJsonIsA400(string body)
    {
        JsonElement error = await BadInputTests.ExpectError(await Post(body), HttpStatusCode.BadRequest);
        Assert.Equal("invalid_request_error", error.GetProperty("type").GetString());
        await AssertStillServing();
    }

    [Fact]
    public async Task ByteLevelGarbageIsA400()
    {
        var random = new Random(24);
        for (int i = 0; i < 20; i++)
        {
            byte[] garbage = new byte[random.Next(1, 4096)];
            random.NextBytes(garbage);
            using var content = new ByteArrayContent(garbage);
            content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
            await BadInputTests.ExpectError(await server.Http.PostAsync("/v1/responses", content, Cancellation), HttpStatusCode.BadRequest);
        }
        await AssertStillServing();
    }

    [Fact]
    public async Task AnUnknownPreviousResponseIdIsOpenAIs400()
    {
        JsonElement error = await BadInputTests.ExpectError(await Post("""{"model":"tiny-dbrx","input":"Hi","previous_response_id":"resp_nope"}"""), HttpStatusCode.BadRequest);
        Assert.Equal("previous_response_id", error.GetProperty("param").GetString());
        Assert.Equal("previous_response_not_found", error.GetProperty("code").GetString());
        Assert.Equal("Previous response with id 'resp_nope' not found.", error.GetProperty("message").GetString());
        await AssertStillServing();
    }

    [Fact]
    public async Task AnUnknownResponseIdIsA404ForGetAndDelete()
    {
        JsonElement read = await BadInputTests.ExpectError(await server.Http.GetAsync("/v1/responses/resp_nope", Cancellation), HttpStatusCode.NotFound);
        Assert.Equal("Response with id 'resp_nope' not found.", read.GetProperty("message").GetString());
        await BadInputTests.ExpectError(await server.Http.DeleteAsync("/v1/responses/resp_nope", Cancellation), HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task AnUnknownModelIsA404()
    {
        JsonElement error = await BadInputTests.ExpectError(await Post("""{"model":"gpt-4o","input":"Hi"}"""), HttpStatusCode.NotFound);
        Assert.Equal("model", error.GetProperty("param").GetString());
    }

    [Fact]
    public async Task NoApiKeyIsA401()
    {
        using var anonymous = new HttpClient { BaseAddress = server.BaseAddress };
        await BadInputTests.ExpectError(await anonymous.PostAsync("/v1/responses", new StringContent("""{"model":"tiny-dbrx","input":"Hi"}""", Encoding.UTF8, "application/json"), Cancellation), HttpStatusCode.Unauthorized);
        await BadInputTests.ExpectError(await anonymous.GetAsync("/v1/responses/resp_x", Cancellation), HttpStatusCode.Unauthorized);
    }

    [Fact]
    public async Task AnOverLongAnswerIsA400NamingMaxOutputTokens()
    {
        JsonElement error = await BadInputTests.ExpectError(await Post("""{"model":"tiny-dbrx","input":"Hi","max_output_tokens":5000}"""), HttpStatusCode.BadRequest);
        Assert.Contains("'max_output_tokens' of 5,000", error.GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.Contains("('input', with 'tools' and 'text.format' described in it)", error.GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.Equal("input", error.GetProperty("param").GetString());
        await AssertStillServing();
    }

    [Fact]
    public async Task UnknownFieldsAreIgnoredAndEchoedFieldsComeBack()
    {
        using HttpResponseMessage response = await Post("""{"model":"tiny-dbrx","input":"Hi","max_output_tokens":2,"store":false,"metadata":{"a":"b"},"user":"u1","reasoning":{"effort":"low"},"truncation":"auto","include":[],"service_tier":"auto","prompt_cache_key":"k"}""");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using JsonDocument answer = JsonDocument.Parse(await response.Content.ReadAsStringAsync(Cancellation));
        JsonElement root = answer.RootElement;
        Assert.Equal("response", root.GetProperty("object").GetString());
        Assert.Equal("incomplete", root.GetProperty("status").GetString());
        Assert.Equal("max_output_tokens", root.GetProperty("incomplete_details").GetProperty("reason").GetString());
        Assert.Equal("b", root.GetProperty("metadata").GetProperty("a").GetString());
        Assert.Equal("u1", root.GetProperty("user").GetString());
        Assert.False(root.GetProperty("store").GetBoolean());
        Assert.Equal(2, root.GetProperty("usage").GetProperty("output_tokens").GetInt32());
        Assert.Equal(0, root.GetProperty("usage").GetProperty("output_tokens_details").GetProperty("reasoning_tokens").GetInt32());
        Assert.Equal(JsonValueKind.Null, root.GetProperty("error").ValueKind);
    }

    private Task<HttpResponseMessage> Post(string body) =>
        server.Http.PostAsync("/v1/responses", new StringContent(body, Encoding.UTF8, "application/json"), Cancellation);

    private async Task AssertStillServing()
    {
        using HttpResponseMessage response = await Post("""{"model":"tiny-dbrx","input":"Hello","max_output_tokens":3,"temperature":0,"store":false}""");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using JsonDocument answer = JsonDocument.Parse(await response.Content.ReadAsStringAsync(Cancellation));
        Assert.Equal(3, answer.RootElement.GetProperty("usage").GetProperty("output_tokens").GetInt32());
    }
}
