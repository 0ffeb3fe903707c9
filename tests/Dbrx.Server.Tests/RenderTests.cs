using System.Net;
using System.Text;
using System.Text.Json;
using Dbrx.Inference.Chat;
using Dbrx.Inference.Tokenization;
using Microsoft.Extensions.AI;

namespace Dbrx.Server.Tests;

/// <summary>
/// The render endpoints llm-d's precise prefix-cache routing calls, and vLLM's tokenize and detokenize: the ids they
/// give are the ones the engine prefills for the same request (its usage counts them; the template and tokenizer the
/// client uses give them), and they refuse what a real request would.
/// </summary>
[Collection("Server")]
public sealed class RenderTests(ServerFixture fixture)
{
    private readonly DbrxTestServer server = fixture.Server;
    private static CancellationToken Cancellation => TestContext.Current.CancellationToken;
    private DbrxTokenizer Tokenizer => server.InProcess.GetService<DbrxTokenizer>()!;

    private const string Chat = """{"model":"tiny-dbrx","messages":[{"role":"system","content":"You answer briefly."},{"role":"user","content":"What is DBRX?"},{"role":"assistant","content":"A model."},{"role":"user","content":"Who made it?"}],"max_tokens":3,"temperature":0}""";

    [Fact]
    public async Task AChatRendersToTheIdsTheEnginePrefills()
    {
        int[] rendered = TokenIds(await Post("/v1/chat/completions/render", Chat));
        int[] expected = DbrxChatTemplate.Default.Encode(
            [new("system", "You answer briefly."), new("user", "What is DBRX?"), new("assistant", "A model."), new("user", "Who made it?")], addGenerationPrompt: true, Tokenizer);
        Assert.Equal(expected, rendered);

        JsonElement answer = await Post("/v1/chat/completions", Chat);
        Assert.Equal(rendered.Length, answer.GetProperty("usage").GetProperty("prompt_tokens").GetInt32());
        Assert.Equal(rendered, (await Post("/tokenize", Chat)).GetProperty("tokens").EnumerateArray().Select(t => t.GetInt32()));
    }

    [Fact]
    public async Task ToolsAndAResponseFormatAreRenderedAsARequestPrefillsThem()
    {
        const string body = """{"model":"tiny-dbrx","messages":[{"role":"user","content":"Weather in Paris?"}],"tools":[{"type":"function","function":{"name":"weather","parameters":{"type":"object","properties":{"city":{"type":"string"}}}}}],"max_tokens":40,"temperature":0}""";
        int[] rendered = TokenIds(await Post("/v1/chat/completions/render", body));
        int[] plain = TokenIds(await Post("/v1/chat/completions/render", """{"model":"tiny-dbrx","messages":[{"role":"user","content":"Weather in Paris?"}]}"""));
        Assert.True(rendered.Length > plain.Length + 10, "the tools are described in the system turn");
        JsonElement answer = await Post("/v1/chat/completions", body);
        Assert.Equal(rendered.Length, answer.GetProperty("usage").GetProperty("prompt_tokens").GetInt32());
        Assert.Equal(rendered.Length, server.Dbrx.CountPromptTokens(server.Requests.Last().Messages, server.Requests.Last().Options));
    }

    [Fact]
    public async Task ACompletionRendersToThePromptsOwnTokens()
    {
        const string prompt = "Once upon a time, <|im_start|> was text.";
        // An array of one, as vLLM answers and llm-d's token producer reads.
        JsonElement entries = await Post("/v1/completions/render", $$"""{"model":"tiny-dbrx","prompt":{{JsonSerializer.Serialize(prompt)}},"max_tokens":2}""");
        int[] rendered = TokenIds(Assert.Single(entries.EnumerateArray()));
        Assert.Equal(Tokenizer.Encode(prompt), rendered);
        Assert.DoesNotContain(rendered, Tokenizer.IsSpecial);
        JsonElement answer = await Post("/v1/completions", $$"""{"model":"tiny-dbrx","prompt":{{JsonSerializer.Serialize(prompt)}},"max_tokens":2}""");
        Assert.Equal(rendered.Length, answer.GetProperty("usage").GetProperty("prompt_tokens").GetInt32());
    }

    [Fact]
    public async Task TokenizeAndDetokenizeRoundTrip()
    {
        const string text = "Grüße from DBRX — 42!";
        JsonElement tokenized = await Post("/tokenize", $$"""{"prompt":{{JsonSerializer.Serialize(text)}}}""");
        int[] tokens = [.. tokenized.GetProperty("tokens").EnumerateArray().Select(t => t.GetInt32())];
        Assert.Equal(Tokenizer.Encode(text), tokens);
        Assert.Equal(tokens.Length, tokenized.GetProperty("count").GetInt32());
        Assert.Equal(2048, tokenized.GetProperty("max_model_len").GetInt32());

        JsonElement detokenized = await Post("/detokenize", $$"""{"model":"tiny-dbrx","tokens":[{{string.Join(',', tokens)}}]}""");
        Assert.Equal(text, detokenized.GetProperty("prompt").GetString());
    }

    [Theory]
    [InlineData("/v1/chat/completions/render", """{"model":"tiny-dbrx","messages":[]}""", "messages", HttpStatusCode.BadRequest)]
    [InlineData("/v1/chat/completions/render", """{"model":"other","messages":[{"role":"user","content":"Hi"}]}""", "model", HttpStatusCode.NotFound)]
    [InlineData("/v1/completions/render", """{"model":"tiny-dbrx","prompt":[1,2]}""", "prompt", HttpStatusCode.BadRequest)]
    [InlineData("/tokenize", """{"prompt":"Hi","messages":[{"role":"user","content":"Hi"}]}""", "prompt", HttpStatusCode.BadRequest)]
    [InlineData("/tokenize", """{"messages":[{"role":"user","content":"Hi"}],"add_generation_prompt":false}""", "add_generation_prompt", HttpStatusCode.BadRequest)]
    [InlineData("/tokenize", """{"prompt":"Hi","model":"other"}""", "model", HttpStatusCode.NotFound)]
    [InlineData("/detokenize", """{"tokens":[1,-4]}""", "tokens[1]", HttpStatusCode.BadRequest)]
    [InlineData("/detokenize", """{"tokens":[1,99999999]}""", "tokens[1]", HttpStatusCode.BadRequest)]
    [InlineData("/detokenize", """{}""", "tokens", HttpStatusCode.BadRequest)]
    [InlineData("/detokenize", """{"tokens":"abc"}""", "tokens", HttpStatusCode.BadRequest)]
    public async Task BadRequestsAreRefusedNamingTheField(string path, string body, string param, HttpStatusCode status)
    {
        JsonElement error = await BadInputTests.ExpectError(await server.Http.PostAsync(path, Json(body), Cancellation), status);
        Assert.Equal(param, error.GetProperty("param").GetString());
    }

    [Fact]
    public async Task AnOverlongChatIsRefusedAsARequestWouldBe()
    {
        string longText = string.Join(' ', Enumerable.Repeat("word", 3000));
        JsonElement error = await BadInputTests.ExpectError(await server.Http.PostAsync("/v1/chat/completions/render", Json($$"""{"model":"tiny-dbrx","messages":[{"role":"user","content":"{{longText}}"}]}"""), Cancellation), HttpStatusCode.BadRequest);
        Assert.Equal("context_length_exceeded", error.GetProperty("code").GetString());
    }

    [Theory]
    [InlineData("/v1/chat/completions/render")]
    [InlineData("/v1/completions/render")]
    [InlineData("/tokenize")]
    [InlineData("/detokenize")]
    public async Task TheyNeedTheApiKey(string path)
    {
        using var anonymous = new HttpClient { BaseAddress = server.BaseAddress };
        using HttpResponseMessage refused = await anonymous.PostAsync(path, Json("""{"prompt":"Hi","tokens":[1]}"""), Cancellation);
        Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
    }

    private static int[] TokenIds(JsonElement rendered) => [.. rendered.GetProperty("token_ids").EnumerateArray().Select(t => t.GetInt32())];

    private static StringContent Json(string body) => new(body, Encoding.UTF8, "application/json");

    private async Task<JsonElement> Post(string path, string body)
    {
        using HttpResponseMessage response = await server.Http.PostAsync(path, Json(body), Cancellation);
        string text = await response.Content.ReadAsStringAsync(Cancellation);
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"{path}: {(int)response.StatusCode} {text}");
        return JsonDocument.Parse(text).RootElement.Clone();
    }
}
