using System.ClientModel;
using Dbrx.Server.Tests;
using OpenAI;
using OpenAI.Chat;

namespace Dbrx.Gateway.Tests;

/// <summary>Real replicas serving the tiny model behind the gateway, driven with the official OpenAI .NET SDK.</summary>
[Trait("Category", "Slow")]
public sealed class RealReplicaTests(TinyModel model)
{
    [Fact]
    public async Task Follow_ups_land_on_the_replica_holding_their_prefix_and_reuse_its_cache()
    {
        await using RealReplica first = await RealReplica.StartAsync(model);
        await using RealReplica second = await RealReplica.StartAsync(model);
        RealReplica[] replicas = [first, second];
        await using GatewayHost gateway = await GatewayHost.StartAsync(options =>
        {
            options.Replicas = [.. replicas.Select(r => r.Url)];
            options.ModelPath = model.Directory;
        });
        ChatClient chat = new OpenAIClient(new ApiKeyCredential("unused"), new OpenAIClientOptions { Endpoint = new Uri(gateway.BaseAddress, "/v1") }).GetChatClient(TinyModel.Id);
        var options = new ChatCompletionOptions { MaxOutputTokenCount = 8, Temperature = 0 };
        for (int conversation = 0; conversation < 2; conversation++)
        {
            List<ChatMessage> messages = [new SystemChatMessage($"conversation {conversation}. " + RoutingTests.LongSystem), new UserChatMessage("hello")];
            int[] before = [.. replicas.Select(r => r.Chats)];
            ChatCompletion turn = (await chat.CompleteChatAsync(messages, options, TestContext.Current.CancellationToken)).Value;
            int servedBy = Array.FindIndex(replicas, r => r.Chats > before[Array.IndexOf(replicas, r)]);
            messages.Add(new AssistantChatMessage(turn.Content[0].Text));
            messages.Add(new UserChatMessage("and then?"));
            // The follow-up, streamed: its usage (last chunk) says how much of its prompt came from the cache.
            ChatTokenUsage? usage = null;
            await foreach (StreamingChatCompletionUpdate update in chat.CompleteChatStreamingAsync(messages, new ChatCompletionOptions { MaxOutputTokenCount = 8, Temperature = 0 }, TestContext.Current.CancellationToken))
                usage = update.Usage ?? usage;
            Assert.Equal(before[servedBy] + 2, replicas[servedBy].Chats);
            Assert.NotNull(usage);
            Assert.True(usage.InputTokenDetails.CachedTokenCount > 0, $"cached {usage.InputTokenDetails.CachedTokenCount} of {usage.InputTokenCount}");
        }
        // Two conversations, two replicas: each got one.
        Assert.Equal([2, 2], replicas.Select(r => r.Chats));
    }
}
