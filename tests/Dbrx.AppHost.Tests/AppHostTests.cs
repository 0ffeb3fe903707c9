using System.ClientModel;
using Aspire.Hosting;
using Aspire.Hosting.Testing;
using OpenAI;
using OpenAI.Chat;

namespace Dbrx.AppHost.Tests;

/// <summary>
/// The Aspire app model as `dotnet run --project samples/Dbrx.AppHost` starts it, through Aspire.Hosting.Testing: the
/// tiny model written by its init resource into a folder of the test's own, every replica and the gateway healthy, and
/// chat answered by each replica and through the gateway with the official OpenAI SDK.
/// </summary>
public sealed class AppHostTests : IDisposable
{
    private readonly string modelPath = Path.Combine(Path.GetTempPath(), "dbrx-apphost-tests-" + Guid.NewGuid().ToString("N"), "tiny");

    private static CancellationToken Cancellation => TestContext.Current.CancellationToken;

    [Fact]
    [Trait("Category", "Slow")]
    public async Task The_app_model_serves_chat_from_every_replica_and_through_the_gateway()
    {
        var builder = await DistributedApplicationTestingBuilder.CreateAsync<Projects.Dbrx_AppHost>(
            [$"--Dbrx:ModelPath={modelPath}", "--Dbrx:Replicas=2"], Cancellation);
        await using DistributedApplication app = await builder.BuildAsync(Cancellation);
        await app.StartAsync(Cancellation);
        using var wait = CancellationTokenSource.CreateLinkedTokenSource(Cancellation);
        wait.CancelAfter(TimeSpan.FromMinutes(5));

        foreach (string resource in (string[])["replica0", "replica1", "gateway"])
        {
            await app.ResourceNotifications.WaitForResourceHealthyAsync(resource, wait.Token);
            using HttpClient http = app.CreateHttpClient(resource, "http");
            var chat = new ChatClient("tiny", new ApiKeyCredential("unused"), new OpenAIClientOptions { Endpoint = new Uri(http.BaseAddress!, "/v1") });
            ChatCompletion answer = await chat.CompleteChatAsync([new UserChatMessage("Hello")], new ChatCompletionOptions { MaxOutputTokenCount = 4, Temperature = 0 }, wait.Token);
            Assert.Equal(ChatFinishReason.Length, answer.FinishReason);
            Assert.Equal(4, answer.Usage.OutputTokenCount);
        }
        Assert.True(File.Exists(Path.Combine(modelPath, "config.json")));
    }

    public void Dispose()
    {
        if (Directory.Exists(Path.GetDirectoryName(modelPath)))
            Directory.Delete(Path.GetDirectoryName(modelPath)!, recursive: true);
    }
}
