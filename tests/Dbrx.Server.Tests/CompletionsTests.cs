using System.Net;
using System.Text;
using System.Text.Json;
using Dbrx.Extensions.AI;
using Dbrx.Inference.Chat;
using Dbrx.Inference.Tokenization;
using Microsoft.Extensions.AI;

namespace Dbrx.Server.Tests;

/// <summary>
/// <c>POST /v1/completions</c>: the prompt's tokens are fed as they are (no chat template), answered whole or streamed
/// as <c>text_completion</c> chunks, with stop strings, seeds, choices and log-probabilities, refused as a chat
/// completion is.
/// </summary>
[Collection("Server")]
public sealed class CompletionsTests(ServerFixture fixture)
{
    private readonly DbrxTestServer server = fixture.Server;
    private static CancellationToken Cancellation => TestContext.Current.CancellationToken;
    private DbrxTokenizer Tokenizer => server.InProcess.GetService<DbrxTokenizer>()!;

    private const string Prompt = "The quick brown fox";

    [Fact]
    public async Task ThePromptIsFedAsItIsWithNoTemplate()
    {
        double ok = await server.MetricAsync("dbrx_server_requests_total", "outcome=\"ok\"");
        JsonElement answer = await Complete($$"""{"model":"tiny-dbrx","prompt":"{{Prompt}}","max_tokens":6,"temperature":0}""");

        Assert.Equal("text_completion", answer.GetProperty("object").GetString());
        Assert.StartsWith("cmpl-", answer.GetProperty("id").GetString(), StringComparison.Ordinal);
        Assert.Equal(TinyModel.Id, answer.GetProperty("model").GetString());
        JsonElement usage = answer.GetProperty("usage");
        int[] promptTokens = Tokenizer.Encode(Prompt);
        Assert.Equal(promptTokens.Length, usage.GetProperty("prompt_tokens").GetInt32());
        // A chat request with this text would prefill the template's turns around it: many more tokens.
        int chatTokens = DbrxChatTemplate.Default.Encode([new DbrxChatMessage("user", Prompt)], addGenerationPrompt: true, Tokenizer).Length;
        Assert.True(chatTokens > promptTokens.Length + 4);

        // The same raw prompt in-process, greedy: the same text.
        ChatResponse inProcess = await server.InProcess.GetResponseAsync([new ChatMessage(ChatRole.User, Prompt)], new ChatOptions { MaxOutputTokens = 6, Temperature = 0 }.WithRawPrompt(), Cancellation);
        JsonElement choice = Assert.Single(answer.GetProperty("choices").EnumerateArray());
        Assert.Equal(inProcess.Text, choice.GetProperty("text").GetString());
        Assert.Equal(0, choice.GetProperty("index").GetInt32());
        Assert.Equal(JsonValueKind.Null, choice.GetProperty("logprobs").ValueKind);
        Assert.Equal(usage.GetProperty("completion_tokens").GetInt32() == 6 ? "length" : "stop", choice.GetProperty("finish_reason").GetString());
        Assert.Equal(ok + 1, await server.MetricAsync("dbrx_server_requests_total", "outcome=\"ok\""));
    }

    [Fact]
    public async Task AnArrayOfOnePromptIsThePrompt()
    {
        JsonElement one = await Complete($$"""{"model":"tiny-dbrx","prompt":["{{Prompt}}"],"max_tokens":4,"temperature":0}""");
        JsonElement plain = await Complete($$"""{"model":"tiny-dbrx","prompt":"{{Prompt}}","max_tokens":4,"temperature":0}""");
        Assert.Equal(Text(plain), Text(one));
        Assert.Equal(Tokenizer.Encode(Prompt).Length, one.GetProperty("usage").GetProperty("prompt_tokens").GetInt32());
    }

    [Fact]
    public async Task StreamedChunksMakeTheWholeAnswer()
    {
        JsonElement whole = await Complete($$"""{"model":"tiny-dbrx","prompt":"{{Prompt}}","max_tokens":8,"temperature":0.8,"seed":11}""");
        using HttpResponseMessage response = await Post("/v1/completions", $$$"""{"model":"tiny-dbrx","prompt":"{{{Prompt}}}","max_tokens":8,"temperature":0.8,"seed":11,"stream":true,"stream_options":{"include_usage":true}}""");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
        string[] events = [.. (await response.Content.ReadAsStringAsync(Cancellation)).Split('\n').Where(l => l.StartsWith("data: ", StringComparison.Ordinal)).Select(l => l["data: ".Length..])];
        Assert.Equal("[DONE]", events[^1]);
        JsonElement[] chunks = [.. events[..^1].Select(e => JsonDocument.Parse(e).RootElement)];
        Assert.All(chunks, c => Assert.Equal("text_completion", c.GetProperty("object").GetString()));
        Assert.Single(chunks.Select(c => c.GetProperty("id").GetString()).Distinct());
        var choices = chunks.SelectMany(c => c.GetProperty("choices").EnumerateArray()).ToList();
        Assert.Equal(Text(whole), string.Concat(choices.Select(c => c.GetProperty("text").GetString())));
        Assert.Equal(whole.GetProperty("choices")[0].GetProperty("finish_reason").GetString(), Assert.Single(choices, c => c.GetProperty("finish_reason").ValueKind == JsonValueKind.String).GetProperty("finish_reason").GetString());
        JsonElement usage = chunks[^1];
        Assert.Empty(usage.GetProperty("choices").EnumerateArray());
        Assert.Equal(whole.GetProperty("usage").GetProperty("completion_tokens").GetInt32(), usage.GetProperty("usage").GetProperty("completion_tokens").GetInt32());
    }

    [Fact]
    public async Task AStopStringEndsTheTextBeforeIt()
    {
        string free = Text(await Complete($$"""{"model":"tiny-dbrx","prompt":"{{Prompt}}","max_tokens":24,"temperature":0}"""));
        Assert.True(free.Length >= 6, free);
        string stop = free.Substring(3, 2);
        JsonElement stopped = await Complete($$"""{"model":"tiny-dbrx","prompt":"{{Prompt}}","max_tokens":24,"temperature":0,"stop":{{JsonSerializer.Serialize(stop)}}}""");
        Assert.Equal(free[..free.IndexOf(stop, StringComparison.Ordinal)], Text(stopped));
        Assert.Equal("stop", stopped.GetProperty("choices")[0].GetProperty("finish_reason").GetString());
    }

    [Fact]
    public async Task LogprobsGiveEachTokenItsAlternativesAndOffset()
    {
        JsonElement answer = await Complete($$"""{"model":"tiny-dbrx","prompt":"{{Prompt}}","max_tokens":5,"temperature":0,"logprobs":3}""");
        JsonElement choice = answer.GetProperty("choices")[0];
        JsonElement logprobs = choice.GetProperty("logprobs");
        string[] tokens = [.. logprobs.GetProperty("tokens").EnumerateArray().Select(t => t.GetString()!)];
        Assert.Equal(answer.GetProperty("usage").GetProperty("completion_tokens").GetInt32(), tokens.Length);
        Assert.Equal(choice.GetProperty("text").GetString(), string.Concat(tokens));
        int[] offsets = [.. logprobs.GetProperty("text_offset").EnumerateArray().Select(o => o.GetInt32())];
        Assert.Equal(tokens.Select((_, i) => tokens[..i].Sum(t => t.Length)), offsets);
        var top = logprobs.GetProperty("top_logprobs").EnumerateArray().ToList();
        double[] chosen = [.. logprobs.GetProperty("token_logprobs").EnumerateArray().Select(l => l.GetDouble())];
        for (int i = 0; i < tokens.Length; i++)
        {
            var alternatives = top[i].EnumerateObject().ToList();
            Assert.InRange(alternatives.Count, 1, 3);
            Assert.True(chosen[i] <= 0);
            // Greedy: the chosen token is the likeliest, so no alternative beats it.
            Assert.All(alternatives, a => Assert.True(a.Value.GetDouble() <= chosen[i] + 1e-6));
        }
    }

    [Fact]
    public async Task SeveralChoicesEachHaveTheirIndex()
    {
        JsonElement answer = await Complete($$"""{"model":"tiny-dbrx","prompt":"{{Prompt}}","max_tokens":4,"temperature":1,"seed":5,"n":2}""");
        Assert.Equal([0, 1], answer.GetProperty("choices").EnumerateArray().Select(c => c.GetProperty("index").GetInt32()));
        Assert.Equal(Tokenizer.Encode(Prompt).Length, answer.GetProperty("usage").GetProperty("prompt_tokens").GetInt32());
    }

    [Theory]
    [InlineData("""{"model":"tiny-dbrx","max_tokens":2}""", "prompt", "Missing required parameter")]
    [InlineData("""{"model":"tiny-dbrx","prompt":[1,2,3]}""", "prompt", "token-id prompts")]
    [InlineData("""{"model":"tiny-dbrx","prompt":["a","b"]}""", "prompt", "one prompt per request")]
    [InlineData("""{"model":"tiny-dbrx","prompt":5}""", "prompt", "a string or an array of one string")]
    [InlineData("""{"model":"tiny-dbrx","prompt":"Hi","echo":true}""", "echo", "not supported")]
    [InlineData("""{"model":"tiny-dbrx","prompt":"Hi","suffix":"end"}""", "suffix", "not supported")]
    [InlineData("""{"model":"tiny-dbrx","prompt":"Hi","logprobs":21}""", "logprobs", "between 0 and 20")]
    [InlineData("""{"model":"tiny-dbrx","prompt":"Hi","temperature":3}""", "temperature", "[0, 2]")]
    [InlineData("""{"model":"tiny-dbrx","prompt":"Hi","max_tokens":0}""", "max_tokens", "at least 1")]
    [InlineData("""{"model":"tiny-dbrx","prompt":"Hi","n":9}""", "n", "between 1 and 8")]
    [InlineData("""{"model":"tiny-dbrx","prompt":"Hi","max_tokens":"many"}""", "max_tokens", "expected an integer")]
    public async Task BadFieldsAreRefusedNamingThem(string body, string param, string message)
    {
        JsonElement error = await BadInputTests.ExpectError(await Post("/v1/completions", body), HttpStatusCode.BadRequest);
        Assert.Equal(param, error.GetProperty("param").GetString());
        Assert.Contains(message, error.GetProperty("message").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task AnOverlongPromptNamesThePromptAndAnotherModelIsNotFound()
    {
        string longPrompt = string.Join(' ', Enumerable.Repeat("word", 3000));
        JsonElement tooLong = await BadInputTests.ExpectError(await Post("/v1/completions", $$"""{"model":"tiny-dbrx","prompt":"{{longPrompt}}"}"""), HttpStatusCode.BadRequest);
        Assert.Equal("prompt", tooLong.GetProperty("param").GetString());
        Assert.Equal("context_length_exceeded", tooLong.GetProperty("code").GetString());
        Assert.Contains("'prompt'", tooLong.GetProperty("message").GetString(), StringComparison.Ordinal);

        JsonElement missing = await BadInputTests.ExpectError(await Post("/v1/completions", """{"model":"gpt-3.5-turbo-instruct","prompt":"Hi"}"""), HttpStatusCode.NotFound);
        Assert.Equal("model_not_found", missing.GetProperty("code").GetString());

        using var anonymous = new HttpClient { BaseAddress = server.BaseAddress };
        using HttpResponseMessage refused = await anonymous.PostAsync("/v1/completions", new StringContent("""{"model":"tiny-dbrx","prompt":"Hi"}""", Encoding.UTF8, "application/json"), Cancellation);
        Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
    }

    [Fact]
    public async Task AClientThatGoesAwayMidStreamCancelsItsRequest()
    {
        long cancelled = server.Counted("cancelled");
        // The model's end tokens are banned, so the answer runs until the client leaves.
        string bias = string.Join(',', Tokenizer.SpecialTokens.Values.Select(id => $"\"{id}\":-100"));
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/completions")
        {
            Content = new StringContent($$$"""{"model":"tiny-dbrx","prompt":"{{{Prompt}}}","max_tokens":1500,"temperature":0,"stream":true,"logit_bias":{{{{bias}}}}}""", Encoding.UTF8, "application/json"),
        };
        HttpResponseMessage response = await server.Http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, Cancellation);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using (var reader = new StreamReader(await response.Content.ReadAsStreamAsync(Cancellation)))
            Assert.StartsWith("data: {", await reader.ReadLineAsync(Cancellation), StringComparison.Ordinal);
        response.Dispose();
        await server.WhenCountedAsync(cancelled + 1, "cancelled");
    }

    private static string Text(JsonElement answer) => answer.GetProperty("choices")[0].GetProperty("text").GetString()!;

    private async Task<JsonElement> Complete(string body)
    {
        using HttpResponseMessage response = await Post("/v1/completions", body);
        string text = await response.Content.ReadAsStringAsync(Cancellation);
        Assert.True(response.StatusCode == HttpStatusCode.OK, text);
        return JsonDocument.Parse(text).RootElement.Clone();
    }

    private Task<HttpResponseMessage> Post(string path, string body) =>
        server.Http.PostAsync(path, new StringContent(body, Encoding.UTF8, "application/json"), Cancellation);
}
