using Microsoft.Data.Sqlite;
using OpenAI.Responses;

namespace Dbrx.Server.Tests;

/// <summary>
/// The stores behind <c>store</c> and <c>previous_response_id</c>: both bound by count and bytes, dropping the least
/// recently used first; the SQLite one keeps what it stored across a server's restart.
/// </summary>
// Own servers: with the others' ("Load"), so their meters never show in the shared server's /metrics mid-test.
[Collection("Load")]
public sealed class ResponseStoreTests(TinyModel model) : IDisposable
{
    private readonly string folder = Directory.CreateTempSubdirectory("dbrx-responses-").FullName;
    private static CancellationToken Cancellation => TestContext.Current.CancellationToken;

    public static TheoryData<string> Kinds => ["memory", "sqlite"];

    private IResponseStore Store(string kind, int count = 100, long bytes = 1 << 20) => kind == "memory"
        ? new MemoryResponseStore(new DbrxResponseStoreOptions { MaxStoredResponses = count, MaxStoredBytes = bytes })
        : new SqliteResponseStore(new DbrxResponseStoreOptions { MaxStoredResponses = count, MaxStoredBytes = bytes, SqlitePath = Path.Combine(folder, $"{Guid.NewGuid():N}.db") });

    private static StoredResponse Response(string id, int size = 10) => new(id, $$"""{"id":"{{id}}","pad":"{{new string('x', size)}}"}""", "[]");

    private static async Task<string[]> Kept(IResponseStore store, params string[] ids)
    {
        var kept = new List<string>();
        foreach (string id in ids)
        {
            if (await store.GetAsync(id, Cancellation) is not null)
                kept.Add(id);
        }
        return [.. kept];
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task PastTheCountTheLeastRecentlyUsedGoes(string kind)
    {
        IResponseStore store = Store(kind, count: 2);
        await store.SaveAsync(Response("a"), Cancellation);
        await store.SaveAsync(Response("b"), Cancellation);
        Assert.NotNull(await store.GetAsync("a", Cancellation)); // a is now more recent than b
        await store.SaveAsync(Response("c"), Cancellation);

        Assert.Equal(["a", "c"], await Kept(store, "a", "b", "c"));
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task PastTheBytesTheOldestGoAndTooLargeIsNotKept(string kind)
    {
        StoredResponse one = Response("a", 400);
        IResponseStore store = Store(kind, bytes: 2 * one.Bytes + 10);
        await store.SaveAsync(one, Cancellation);
        await store.SaveAsync(Response("b", 400), Cancellation);
        await store.SaveAsync(Response("c", 400), Cancellation);
        await store.SaveAsync(Response("huge", 10_000), Cancellation);

        Assert.Equal(["b", "c"], await Kept(store, "a", "b", "c", "huge"));
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task SavedIsReadBackAsSavedAndDeletedIsGone(string kind)
    {
        IResponseStore store = Store(kind);
        var saved = new StoredResponse("resp_1", """{"id":"resp_1","output":[]}""", """[{"type":"message","role":"user","content":"Hi"}]""");
        await store.SaveAsync(saved, Cancellation);

        Assert.Equal(saved, await store.GetAsync("resp_1", Cancellation));
        Assert.True(await store.DeleteAsync("resp_1", Cancellation));
        Assert.Null(await store.GetAsync("resp_1", Cancellation));
        Assert.False(await store.DeleteAsync("resp_1", Cancellation));
    }

    [Theory]
    [InlineData(0, 1 << 20, null, "ResponseStore.MaxStoredResponses must be at least 1")]
    [InlineData(10, 100, null, "ResponseStore.MaxStoredBytes must be at least 1024")]
    [InlineData(10, 1 << 20, " ", "ResponseStore.SqlitePath must be a file path")]
    public void OptionsThatCannotWorkAreRefusedNamingTheOption(int count, long bytes, string? path, string message)
    {
        var options = new DbrxServerOptions { ResponseStore = { MaxStoredResponses = count, MaxStoredBytes = bytes, SqlitePath = path } };

        Assert.Contains(message, Assert.Throws<ArgumentException>(options.Validate).Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ASqliteStoreKeepsResponsesAcrossARestart()
    {
        string path = Path.Combine(folder, "responses.db");
        void UseTheFile(DbrxServerOptions options) => options.ResponseStore.SqlitePath = path;
        CreateResponseOptions Options(string text) => new(TinyModel.Id, [ResponseItem.CreateUserMessageItem(text)]) { Temperature = 0, MaxOutputTokenCount = 6 };

        ResponseResult created;
        await using (DbrxTestServer first = await DbrxTestServer.StartAsync(model, server: UseTheFile))
            created = await first.OpenAI().GetResponsesClient().CreateResponseAsync(Options("Name a river."), Cancellation);

        await using DbrxTestServer second = await DbrxTestServer.StartAsync(model, server: UseTheFile);
        ResponsesClient responses = second.OpenAI().GetResponsesClient();
        ResponseResult read = await responses.GetResponseAsync(created.Id, Cancellation);
        Assert.Equal((created.Id, created.GetOutputText(), created.Usage.TotalTokenCount), (read.Id, read.GetOutputText(), read.Usage.TotalTokenCount));

        // A follow-up on the new server continues the conversation stored by the old one.
        CreateResponseOptions next = Options("And another?");
        next.PreviousResponseId = created.Id;
        await responses.CreateResponseAsync(next, Cancellation);
        Assert.Equal(["Name a river.", created.GetOutputText(), "And another?"], second.Requests.Last().Messages.Select(m => m.Text));
    }

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        Directory.Delete(folder, recursive: true);
    }
}
