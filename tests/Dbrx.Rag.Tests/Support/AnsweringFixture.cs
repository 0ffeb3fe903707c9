using Dbrx.Extensions.AI;
using Dbrx.Rag.Retrieval;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;

namespace Dbrx.Rag.Tests.Support;

/// <summary>The labelled corpus's index and the tiny DBRX behind DI, function invocation and a recorder; shared by a test class.</summary>
public sealed class AnsweringFixture : IDisposable
{
    public const int ContextLength = 2048;

    private readonly RetrievalIndex corpus = new();
    private readonly ServiceProvider services;

    public AnsweringFixture()
    {
        RecordingChatClient? recorder = null;
        services = TinyDbrx.Services(ContextLength, b => b.Use(inner => recorder = new RecordingChatClient(inner)));
        Client = services.GetRequiredService<IChatClient>();
        Recorder = recorder!;
        Retriever = new RagRetriever(corpus.Index);
    }

    public IChatClient Client { get; }

    public DbrxChatClient Dbrx => Client.GetService<DbrxChatClient>()!;

    public RecordingChatClient Recorder { get; }

    public RagRetriever Retriever { get; }

    public Indexing.RagIndex Index => corpus.Index;

    public void Dispose()
    {
        services.Dispose();
        corpus.Dispose();
    }
}
