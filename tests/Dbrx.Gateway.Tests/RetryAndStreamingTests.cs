using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Net;
using Dbrx.Server.Tests;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;

namespace Dbrx.Gateway.Tests;

/// <summary>Failures of a replica through the gateway, and event streams passing through it.</summary>
public sealed class RetryAndStreamingTests(TinyModel model) : IAsyncLifetime
{
    private readonly List<FakeReplica> replicas = [];

    public async ValueTask InitializeAsync()
    {
        foreach (string name in new[] { "a", "b" })
            replicas.Add(await FakeReplica.StartAsync(name));
    }

    public async ValueTask DisposeAsync()
    {
        foreach (FakeReplica replica in replicas)
            await replica.DisposeAsync();
    }

    private Task<GatewayHost> StartGatewayAsync(DbrxGatewayPolicy policy = DbrxGatewayPolicy.PrefixAware) => GatewayHost.StartAsync(options =>
    {
        options.Replicas = [.. replicas.Select(r => r.Url)];
        options.ModelPath = model.Directory;
        options.Policy = policy;
    });

    [Fact]
    public async Task A_request_whose_replica_fails_before_answering_is_answered_by_another()
    {
        // a drops every chat request without a byte of response, but stays ready.
        replicas[0].Chat = context =>
        {
            context.Abort();
            return Task.CompletedTask;
        };
        await using GatewayHost gateway = await StartGatewayAsync(DbrxGatewayPolicy.RoundRobin);
        // This gateway's meter only: other tests' gateways in the process have meters of the same name.
        IMeterFactory meters = gateway.Services.GetRequiredService<IMeterFactory>();
        var counted = new ConcurrentDictionary<(string Instrument, string Replica), long>();
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, published) =>
        {
            if (instrument.Meter.Scope == meters && instrument.Meter.Name == DbrxGatewayTelemetry.MeterName)
                published.EnableMeasurementEvents(instrument);
        };
        listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) =>
            counted.AddOrUpdate((instrument.Name, tags.ToArray().Single(t => t.Key == "replica").Value!.ToString()!), value, (_, sum) => sum + value));
        listener.Start();
        for (int i = 0; i < 6; i++)
            Assert.Equal("b", await gateway.ServedByAsync(GatewayHost.ChatBody("system", $"question {i}")));
        int triedOnA = replicas[0].Requests.Count;
        Assert.Equal(triedOnA, counted.GetValueOrDefault(("dbrx.gateway.retries", replicas[0].Url)));
        Assert.Equal(triedOnA, counted.GetValueOrDefault(("dbrx.gateway.requests", replicas[0].Url)));
        Assert.Equal(6, counted.GetValueOrDefault(("dbrx.gateway.requests", replicas[1].Url)));
        Assert.NotEmpty(replicas[0].Requests); // a was tried, and the body reached b whole after it
        Assert.All(replicas[1].Requests, request => Assert.Contains("question", request.Body, StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_stream_whose_replica_dies_mid_answer_ends_with_an_error_event_and_is_not_repeated()
    {
        foreach (FakeReplica replica in replicas)
        {
            replica.Chat = async context =>
            {
                context.Response.ContentType = "text/event-stream";
                await context.Response.WriteAsync("data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hel\"}}]}\n\n");
                await context.Response.Body.FlushAsync();
                await Task.Delay(100);
                context.Abort();
            };
        }
        await using GatewayHost gateway = await StartGatewayAsync();
        using HttpResponseMessage response = await gateway.ChatAsync(GatewayHost.ChatBody("system", "stream please"));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        string stream = await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken);
        string[] events = stream.Split("\n\n", StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(2, events.Length);
        Assert.Contains("Hel", events[0], StringComparison.Ordinal);
        Assert.StartsWith("data: {\"error\":", events[1], StringComparison.Ordinal);
        Assert.Contains("replica_failed", events[1], StringComparison.Ordinal);
        Assert.Equal(1, replicas.Sum(r => r.Requests.Count));
    }

    [Fact]
    public async Task Event_streams_pass_through_unbuffered()
    {
        const int Chunks = 5;
        foreach (FakeReplica replica in replicas)
        {
            replica.Chat = async context =>
            {
                context.Response.ContentType = "text/event-stream";
                for (int i = 0; i < Chunks; i++)
                {
                    await context.Response.WriteAsync($"data: {{\"chunk\":{i}}}\n\n");
                    await context.Response.Body.FlushAsync();
                    await Task.Delay(200);
                }
                await context.Response.WriteAsync("data: [DONE]\n\n");
            };
        }
        await using GatewayHost gateway = await StartGatewayAsync();
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/chat/completions") { Content = new StringContent(GatewayHost.ChatBody("system", "stream"), System.Text.Encoding.UTF8, "application/json") };
        using HttpResponseMessage response = await gateway.Http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, TestContext.Current.CancellationToken);
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync(TestContext.Current.CancellationToken));
        var arrivals = new List<TimeSpan>();
        var clock = Stopwatch.StartNew();
        while (await reader.ReadLineAsync(TestContext.Current.CancellationToken) is { } line)
        {
            if (line.StartsWith("data: {", StringComparison.Ordinal))
                arrivals.Add(clock.Elapsed);
        }
        Assert.Equal(Chunks, arrivals.Count);
        // Sent 200 ms apart: buffered, they would arrive within a few milliseconds of each other.
        Assert.True(arrivals[^1] - arrivals[0] >= TimeSpan.FromMilliseconds((Chunks - 1) * 100), string.Join(", ", arrivals.Select(a => a.TotalMilliseconds)));
    }
}
