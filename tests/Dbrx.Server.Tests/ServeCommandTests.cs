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

    [Fact]
    public async Task Responses_stored_in_the_responses_db_survive_a_killed_server()
    {
        CancellationToken cancellation = TestContext.Current.CancellationToken;
        string folder = Directory.CreateTempSubdirectory("dbrx-serve-responses-").FullName;
        string[] args = ["--model", model.Directory, "--device", "cpu", "--context-length", "2048", "--responses-db", Path.Combine(folder, "responses.db")];
        try
        {
            string created;
            using (ServeProcess first = await ServeProcess.StartAsync(args))
            {
                using HttpResponseMessage response = await first.Http.PostAsync("/v1/responses", new StringContent(
                    $$"""{"model":"{{TinyModel.Id}}","input":"Hello","max_output_tokens":3,"temperature":0}""", Encoding.UTF8, "application/json"), cancellation);
                created = await response.Content.ReadAsStringAsync(cancellation);
                Assert.True(response.StatusCode == HttpStatusCode.OK, created);
            } // killed, not stopped

            using ServeProcess second = await ServeProcess.StartAsync(args);
            string id = JsonDocument.Parse(created).RootElement.GetProperty("id").GetString()!;
            Assert.Equal(created, await second.Http.GetStringAsync($"/v1/responses/{id}", cancellation));
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }
}
