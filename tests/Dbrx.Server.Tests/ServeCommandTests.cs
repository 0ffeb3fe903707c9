using System.Net;
using System.Text;
using System.Text.Json;

namespace Dbrx.Server.Tests;

/// <summary><c>dbrx serve</c> as a user starts it: a process that listens, turns ready, and answers.</summary>
[Collection("Load")]
[Trait("Category", "Slow")]
public sealed class ServeCommandTests(TinyModel model)
{
    [Fact]
    public async Task The_tool_serves_chat_completions_once_ready()
    {
        using ServeProcess serve = await ServeProcess.StartAsync("--model", model.Directory, "--device", "cpu", "--context-length", "2048");
        using HttpResponseMessage response = await serve.Http.PostAsync("/v1/chat/completions", new StringContent(
            $$"""{"model":"{{TinyModel.Id}}","messages":[{"role":"user","content":"Hello"}],"max_tokens":3,"temperature":0}""",
            Encoding.UTF8, "application/json"), TestContext.Current.CancellationToken);
        string body = await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken);
        Assert.True(response.StatusCode == HttpStatusCode.OK, body);
        Assert.Equal(3, JsonDocument.Parse(body).RootElement.GetProperty("usage").GetProperty("completion_tokens").GetInt32());
    }
}
