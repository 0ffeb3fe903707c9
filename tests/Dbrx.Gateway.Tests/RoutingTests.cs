using System.Net;
using Dbrx.Inference.Generation;
using Dbrx.Server.Tests;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;

namespace Dbrx.Gateway.Tests;

/// <summary>The prefix-aware policy over fake replicas: where conversations go, the bounded load, readiness and full queues.</summary>
public sealed class RoutingTests(TinyModel model) : IAsyncLifetime
{
    /// <summary>A system turn of a few hundred tokens: several 32-token blocks shared by every conversation that uses it.</summary>
    internal static readonly string LongSystem = string.Join(' ', Enumerable.Range(0, 120).Select(i => $"rule {i} says be brief;"));

    private readonly List<FakeReplica> replicas = [];

    public async ValueTask InitializeAsync()
    {
        foreach (string name in new[] { "a", "b", "c" })
            replicas.Add(await FakeReplica.StartAsync(name));
    }

    public async ValueTask DisposeAsync()
    {
        foreach (FakeReplica replica in replicas)
            await replica.DisposeAsync();
    }

    private Task<GatewayHost> StartGatewayAsync(Action<DbrxGatewayOptions>? configure = null) => GatewayHost.StartAsync(options =>
    {
        options.Replicas = [.. replicas.Select(r => r.Url)];
        options.ModelPath = model.Directory;
        configure?.Invoke(options);
    });

    [Fact]
    public async Task Follow_ups_go_where_their_conversation_went_and_new_conversations_spread()
    {
        await using GatewayHost gateway = await StartGatewayAsync();
        var first = new Dictionary<int, string>();
        // Distinct system turns, so no conversation shares a block with another.
        for (int c = 0; c < 3; c++)
            first[c] = await gateway.ServedByAsync(GatewayHost.ChatBody($"conversation {c}. " + LongSystem, "hello"));
        Assert.Equal(3, first.Values.Distinct().Count());
        for (int c = 0; c < 3; c++)
        {
            string followUp = GatewayHost.ChatBody($"conversation {c}. " + LongSystem, "hello", "hi, how can I help?", "tell me more");
            Assert.Equal(first[c], await gateway.ServedByAsync(followUp));
        }
    }

    [Fact]
    public async Task A_hot_prefix_is_spread_within_the_bounded_load()
    {
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        foreach (FakeReplica replica in replicas)
            replica.Chat = async context => { await release.Task; await context.Response.WriteAsync("{}"); };
        await using GatewayHost gateway = await StartGatewayAsync(options => options.LoadFactor = 1.25);
        // Six requests sharing one long prefix, all held in flight: unbounded, every one would go to the first replica.
        Task<HttpResponseMessage>[] calls = [.. Enumerable.Range(0, 6).Select(i => gateway.ChatAsync(GatewayHost.ChatBody(LongSystem, $"question {i}")))];
        while (replicas.Sum(r => r.Requests.Count) < 6)
            await Task.Delay(20, TestContext.Current.CancellationToken);
        int[] counts = [.. replicas.Select(r => r.Requests.Count)];
        release.SetResult();
        foreach (HttpResponseMessage response in await Task.WhenAll(calls))
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        // ⌈1.25 × 6 / 3⌉ = 3: no replica above it, whatever order the requests came in.
        Assert.All(counts, count => Assert.InRange(count, 0, 3));
    }

    [Fact]
    public async Task Replicas_not_ready_or_with_a_full_queue_are_not_picked_and_rejoin()
    {
        await using GatewayHost gateway = await StartGatewayAsync(options => options.MaxReplicaWaitingRequests = 8);
        replicas[0].Ready = false;
        replicas[1].Waiting = 8;
        await Task.Delay(1000, TestContext.Current.CancellationToken); // several health checks and scrapes
        for (int i = 0; i < 4; i++)
            Assert.Equal("c", await gateway.ServedByAsync(GatewayHost.ChatBody($"conversation {i}. " + LongSystem, "hello")));
        replicas[0].Ready = true;
        replicas[1].Waiting = 0;
        await Task.Delay(1000, TestContext.Current.CancellationToken);
        var served = new HashSet<string>();
        for (int i = 4; i < 10; i++)
            served.Add(await gateway.ServedByAsync(GatewayHost.ChatBody($"conversation {i}. " + LongSystem, "hello")));
        // Ties go to the replica sent the fewest so far: the two that were out.
        Assert.Equal(["a", "b"], served.Order());
    }

    [Fact]
    public async Task KV_events_say_what_a_replica_holds_over_the_routing_history()
    {
        string body = GatewayHost.ChatBody(LongSystem, "hello");
        await using GatewayHost gateway = await StartGatewayAsync(options => options.KvEventEndpoints = ["tcp://127.0.0.1:1", "tcp://127.0.0.1:2", "tcp://127.0.0.1:3"]);
        ulong[] blocks = Dbrx.Inference.Generation.DbrxPrefixBlockHash.Chain(TinyPrompt.TokenIds(model, LongSystem, "hello"), 32);
        Assert.True(blocks.Length >= 4, $"{blocks.Length} blocks");
        var index = gateway.Services.GetRequiredService<ReplicaPrefixIndex>();
        // c holds the first three blocks, b only the first: c has the longest run.
        index.Apply(replicas[2].Url, [Stored(blocks[..3], DbrxKvCacheMedium.Device)]);
        index.Apply(replicas[1].Url, [Stored(blocks[..1], DbrxKvCacheMedium.Device)]);
        Assert.Equal("c", await gateway.ServedByAsync(body));
        Assert.Equal("c", await gateway.ServedByAsync(body));
        // c drops them (evicted): now b holds the longest run; routing history is not used with events.
        index.Apply(replicas[2].Url, [new DbrxKvCacheEvent.BlockRemoved(blocks[..3], DbrxKvCacheMedium.Device)]);
        Assert.Equal("b", await gateway.ServedByAsync(body));
        index.Apply(replicas[1].Url, [new DbrxKvCacheEvent.AllBlocksCleared()]);
        index.Apply(replicas[0].Url, [Stored(blocks, DbrxKvCacheMedium.Host)]);
        Assert.Equal("a", await gateway.ServedByAsync(body));
    }

    [Fact]
    public void A_request_body_renders_to_the_token_ids_of_its_conversation()
    {
        using var client = new Dbrx.Extensions.AI.DbrxChatClient(new Dbrx.Extensions.AI.DbrxChatClientOptions { ModelPath = model.Directory });
        byte[] body = System.Text.Encoding.UTF8.GetBytes(GatewayHost.ChatBody(LongSystem, "hello", "hi there", "more"));
        Assert.Equal(TinyPrompt.TokenIds(model, LongSystem, "hello", "hi there", "more"), Dbrx.Server.DbrxChatPromptRenderer.TryRender(body, client));
        Assert.Null(Dbrx.Server.DbrxChatPromptRenderer.TryRender("{\"messages\": 3}"u8, client));
    }

    [Fact]
    public async Task API_keys_are_checked_at_the_gateway_or_passed_through()
    {
        await using (GatewayHost checking = await StartGatewayAsync(options => { options.ApiKeys = ["sk-gateway"]; options.ReplicaApiKey = "sk-replicas"; }))
        {
            using HttpResponseMessage refused = await checking.ChatAsync(GatewayHost.ChatBody("s", "hello"), "sk-wrong");
            Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
            Assert.Contains("invalid_api_key", await refused.Content.ReadAsStringAsync(TestContext.Current.CancellationToken));
            using HttpResponseMessage accepted = await checking.ChatAsync(GatewayHost.ChatBody("s", "hello"), "sk-gateway");
            Assert.Equal(HttpStatusCode.OK, accepted.StatusCode);
        }
        Assert.Equal(["Bearer sk-replicas"], replicas.SelectMany(r => r.Requests).Select(r => r.Authorization));
        await using GatewayHost passing = await StartGatewayAsync();
        using HttpResponseMessage passed = await passing.ChatAsync(GatewayHost.ChatBody("s", "hello"), "sk-client");
        Assert.Equal(HttpStatusCode.OK, passed.StatusCode);
        Assert.Contains("Bearer sk-client", replicas.SelectMany(r => r.Requests).Select(r => r.Authorization));
    }

    [Fact]
    public async Task A_body_over_the_limit_is_refused_before_any_replica_sees_it()
    {
        await using GatewayHost gateway = await StartGatewayAsync(options => options.MaxRequestBodyBytes = 4096);
        using HttpResponseMessage response = await gateway.ChatAsync(GatewayHost.ChatBody(new string('x', 5000), "hello"));
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
        Assert.Empty(replicas.SelectMany(r => r.Requests));
    }

    private static DbrxKvCacheEvent.BlockStored Stored(ulong[] hashes, DbrxKvCacheMedium medium) =>
        new(hashes, null, new int[hashes.Length * 32], 32, medium);
}
