using System.Net;
using System.Text.Json;

namespace Dbrx.Server.Tests;

/// <summary>Models, health and metrics endpoints, and which of them need the API key.</summary>
[Collection("Server")]
public sealed class EndpointsTests(ServerFixture fixture)
{
    private readonly DbrxTestServer server = fixture.Server;
    private static CancellationToken Cancellation => TestContext.Current.CancellationToken;

    [Fact]
    public async Task ModelsListTheServedModel()
    {
        using JsonDocument list = JsonDocument.Parse(await server.Http.GetStringAsync("/v1/models", Cancellation));
        Assert.Equal("list", list.RootElement.GetProperty("object").GetString());
        JsonElement model = Assert.Single(list.RootElement.GetProperty("data").EnumerateArray());
        Assert.Equal(TinyModel.Id, model.GetProperty("id").GetString());
        Assert.Equal("model", model.GetProperty("object").GetString());
        Assert.True(model.GetProperty("created").GetInt64() > 1_600_000_000);

        using JsonDocument one = JsonDocument.Parse(await server.Http.GetStringAsync($"/v1/models/{TinyModel.Id}", Cancellation));
        Assert.Equal(TinyModel.Id, one.RootElement.GetProperty("id").GetString());

        using HttpResponseMessage missing = await server.Http.GetAsync("/v1/models/gpt-4o", Cancellation);
        JsonElement error = await BadInputTests.ExpectError(missing, HttpStatusCode.NotFound);
        Assert.Equal("model_not_found", error.GetProperty("code").GetString());
    }

    [Fact]
    public async Task HealthAndMetricsNeedNoKeyButTheApiDoes()
    {
        using var anonymous = new HttpClient { BaseAddress = server.BaseAddress };
        Assert.Equal("Healthy", await anonymous.GetStringAsync("/health/live", Cancellation));
        Assert.Equal("Healthy", await anonymous.GetStringAsync("/health/ready", Cancellation));
        Assert.Contains("# TYPE dbrx_server_requests_total counter", await anonymous.GetStringAsync("/metrics", Cancellation), StringComparison.Ordinal);
        using HttpResponseMessage refused = await anonymous.GetAsync("/v1/models", Cancellation);
        Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
    }

    [Fact]
    public async Task MetricsCountRequestsTokensAndLatencies()
    {
        double ok = await server.MetricAsync("dbrx_server_requests_total", "outcome=\"ok\"");
        double generated = await server.MetricAsync("dbrx_server_generated_tokens_total");
        double firstTokens = await server.MetricAsync("dbrx_server_time_to_first_token_seconds_count");
        double prompt = await server.MetricAsync("dbrx_server_prompt_tokens_total");

        using HttpResponseMessage response = await server.Http.PostAsync("/v1/chat/completions",
            new StringContent("""{"model":"tiny-dbrx","messages":[{"role":"user","content":"Hi"}],"max_tokens":5,"temperature":0}""", System.Text.Encoding.UTF8, "application/json"), Cancellation);
        using JsonDocument answer = JsonDocument.Parse(await response.Content.ReadAsStringAsync(Cancellation));
        JsonElement usage = answer.RootElement.GetProperty("usage");

        Assert.Equal(ok + 1, await server.MetricAsync("dbrx_server_requests_total", "outcome=\"ok\""));
        Assert.Equal(generated + usage.GetProperty("completion_tokens").GetInt32(), await server.MetricAsync("dbrx_server_generated_tokens_total"));
        Assert.Equal(prompt + usage.GetProperty("prompt_tokens").GetInt32(), await server.MetricAsync("dbrx_server_prompt_tokens_total"));
        Assert.Equal(firstTokens + 1, await server.MetricAsync("dbrx_server_time_to_first_token_seconds_count"));
        Assert.True(await server.MetricAsync("dbrx_server_time_per_output_token_seconds_count") >= 1);
        string text = await server.Http.GetStringAsync("/metrics", Cancellation);
        Assert.Contains("dbrx_server_cached_prompt_tokens_total", text, StringComparison.Ordinal);
    }

    /// <summary>Streamed with <c>n</c>: each choice's chunks carry its index, its role first and its own finish reason, and the usage comes once.</summary>
    [Fact]
    public async Task StreamedChoicesEachHaveTheirIndexRoleAndFinishReason()
    {
        using HttpResponseMessage response = await server.Http.PostAsync("/v1/chat/completions", new StringContent(
            """{"model":"tiny-dbrx","messages":[{"role":"user","content":"Hi"}],"max_tokens":4,"temperature":1,"seed":3,"n":2,"stream":true,"stream_options":{"include_usage":true},"logprobs":true}""",
            System.Text.Encoding.UTF8, "application/json"), Cancellation);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        string[] events = [.. (await response.Content.ReadAsStringAsync(Cancellation)).Split("\n").Where(l => l.StartsWith("data: ", StringComparison.Ordinal)).Select(l => l["data: ".Length..])];
        Assert.Equal("[DONE]", events[^1]);
        JsonElement[] chunks = [.. events[..^1].Select(e => JsonDocument.Parse(e).RootElement)];
        var byChoice = chunks.SelectMany(c => c.GetProperty("choices").EnumerateArray()).GroupBy(c => c.GetProperty("index").GetInt32()).OrderBy(g => g.Key).ToList();
        Assert.Equal([0, 1], byChoice.Select(g => g.Key));
        foreach (var choice in byChoice)
        {
            Assert.Equal("assistant", choice.First().GetProperty("delta").GetProperty("role").GetString());
            Assert.Single(choice, c => c.GetProperty("finish_reason").ValueKind == JsonValueKind.String);
            Assert.Equal(4, choice.Where(c => c.GetProperty("logprobs").ValueKind == JsonValueKind.Object).Sum(c => c.GetProperty("logprobs").GetProperty("content").GetArrayLength()));
        }
        JsonElement usage = Assert.Single(chunks, c => c.TryGetProperty("usage", out JsonElement u) && u.ValueKind == JsonValueKind.Object).GetProperty("usage");
        Assert.Equal(8, usage.GetProperty("completion_tokens").GetInt32());
    }
}
