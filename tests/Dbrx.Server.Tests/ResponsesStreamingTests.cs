using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.AI;

namespace Dbrx.Server.Tests;

/// <summary>
/// <c>/v1/responses</c> streams as raw server-sent events, as a client other than the .NET SDK reads them; and what a
/// stream does when its client goes away or the model fails after it started.
/// </summary>
// Own servers: with the others' ("Load"), so their meters never show in the shared server's /metrics mid-test.
[Collection("Load")]
public sealed class ResponsesStreamingTests(TinyModel model)
{
    private static CancellationToken Cancellation => TestContext.Current.CancellationToken;

    private sealed record Event(string Name, JsonElement Data);

    private static StringContent Body(string json) => new(json, Encoding.UTF8, "application/json");

    /// <summary>Reads <c>event:</c>/<c>data:</c> pairs until the stream ends or <paramref name="stopAfter"/> events.</summary>
    private static async Task<List<Event>> ReadEventsAsync(HttpResponseMessage response, int stopAfter = int.MaxValue)
    {
        var events = new List<Event>();
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync(Cancellation));
        string? name = null;
        while (events.Count < stopAfter && await reader.ReadLineAsync(Cancellation) is { } line)
        {
            if (line.StartsWith("event: ", StringComparison.Ordinal))
                name = line["event: ".Length..];
            else if (line.StartsWith("data: ", StringComparison.Ordinal))
            {
                events.Add(new Event(name ?? "", JsonDocument.Parse(line["data: ".Length..]).RootElement.Clone()));
                name = null;
            }
        }
        return events;
    }

    [Fact]
    public async Task EventsAreNamedByTheirTypeNumberedInOrderAndTheStoredResponseIsTheLastOnes()
    {
        await using DbrxTestServer server = await DbrxTestServer.StartAsync(model);
        using HttpResponseMessage response = await server.Http.PostAsync("/v1/responses", Body("""{"model":"tiny-dbrx","input":"Hello","max_output_tokens":5,"temperature":0,"stream":true}"""), Cancellation);
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);

        List<Event> events = await ReadEventsAsync(response);

        Assert.All(events, e => Assert.Equal(e.Name, e.Data.GetProperty("type").GetString()));
        Assert.Equal(Enumerable.Range(0, events.Count), events.Select(e => e.Data.GetProperty("sequence_number").GetInt32()));
        string[] names = [.. events.Select(e => e.Name)];
        Assert.Equal(["response.created", "response.in_progress", "response.output_item.added", "response.content_part.added"], names[..4]);
        Assert.Equal(5, names.Count(n => n == "response.output_text.delta"));
        Assert.Equal(["response.output_text.done", "response.content_part.done", "response.output_item.done", "response.incomplete"], names[^4..]);
        JsonElement created = events[0].Data.GetProperty("response");
        Assert.Equal(("in_progress", 0), (created.GetProperty("status").GetString(), created.GetProperty("output").GetArrayLength()));
        JsonElement final = events[^1].Data.GetProperty("response");
        Assert.Equal(created.GetProperty("id").GetString(), final.GetProperty("id").GetString());
        string text = string.Concat(events.Where(e => e.Name == "response.output_text.delta").Select(e => e.Data.GetProperty("delta").GetString()));
        Assert.Equal(text, final.GetProperty("output")[0].GetProperty("content")[0].GetProperty("text").GetString());
        Assert.Equal(5, final.GetProperty("usage").GetProperty("output_tokens").GetInt32());

        // Stored (the default) once it ended: GET gives the final response as the stream sent it.
        string stored = await server.Http.GetStringAsync($"/v1/responses/{final.GetProperty("id").GetString()}", Cancellation);
        Assert.Equal(final.GetRawText(), stored);
        Assert.Equal(1, server.Counted("ok"));
    }

    [Fact]
    public async Task AClientThatGoesAwayMidStreamCancelsTheAnswer()
    {
        const int holdingTokens = 1500;
        LoadAndFaultTests.AnswerWatch? watch = null;
        await using DbrxTestServer server = await DbrxTestServer.StartAsync(model, layer: inner => watch = new LoadAndFaultTests.AnswerWatch(inner, holdingTokens));
        using (HttpResponseMessage response = await server.Http.SendAsync(
            new HttpRequestMessage(HttpMethod.Post, "/v1/responses") { Content = Body($$"""{"model":"tiny-dbrx","input":"Hello","max_output_tokens":{{holdingTokens}},"temperature":0,"stream":true}""") },
            HttpCompletionOption.ResponseHeadersRead, Cancellation))
        {
            Assert.Equal("response.created", (await ReadEventsAsync(response, stopAfter: 1))[0].Name);
        }

        Assert.False(await watch!.ReadToTheEnd.WaitAsync(TimeSpan.FromMinutes(2), Cancellation), "the server read the whole answer of a client that had gone");
        await server.WhenCountedAsync(1, "cancelled");
        Assert.Equal(0, server.Counted("ok", "error"));
    }

    [Fact]
    public async Task AFailureAfterTheStreamStartedEndsItWithResponseFailedAndNoDetails()
    {
        await using DbrxTestServer server = await DbrxTestServer.StartAsync(model, layer: inner => new FailingAfter(inner, updates: 2));
        using HttpResponseMessage response = await server.Http.PostAsync("/v1/responses", Body("""{"model":"tiny-dbrx","input":"Hello","max_output_tokens":20,"stream":true}"""), Cancellation);

        List<Event> events = await ReadEventsAsync(response);

        Assert.Equal("response.failed", events[^1].Name);
        JsonElement failed = events[^1].Data.GetProperty("response");
        Assert.Equal("failed", failed.GetProperty("status").GetString());
        Assert.Equal("server_error", failed.GetProperty("error").GetProperty("code").GetString());
        string message = failed.GetProperty("error").GetProperty("message").GetString()!;
        Assert.Contains("see its log", message, StringComparison.Ordinal);
        Assert.DoesNotContain(FailingAfter.Secret, message, StringComparison.Ordinal);
        Assert.Equal(2, events.Count(e => e.Name == "response.output_text.delta"));
        Assert.Equal(1, server.Counted("error"));
    }

    /// <summary>Passes on the first <paramref name="updates"/> updates with text, then fails.</summary>
    private sealed class FailingAfter(IChatClient inner, int updates) : DelegatingChatClient(inner)
    {
        public const string Secret = "libtorch internals";

        public override async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
        {
            int passed = 0;
            await foreach (ChatResponseUpdate update in base.GetStreamingResponseAsync(messages, options, cancellationToken))
            {
                if (update.Text.Length == 0)
                    continue;
                yield return update;
                if (++passed == updates)
                    throw new InvalidOperationException(Secret);
            }
        }
    }
}
