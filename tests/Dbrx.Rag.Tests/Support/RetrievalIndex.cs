using Dbrx.Inference.Tokenization;
using Dbrx.Rag.Indexing;
using Dbrx.Rag.Ingestion;

namespace Dbrx.Rag.Tests.Support;

/// <summary>The labelled corpus, ingested with the shipped chunker into a real index file; shared by a test class.</summary>
public sealed class RetrievalIndex : IDisposable
{
    private readonly TempFolder folder = new();

    public RetrievalIndex()
    {
        Index = RagIndex.Open(folder.File("retrieval.db"));
        Report = new Ingestor(Index, new Chunker(DbrxTokenizer.Default)).IngestAsync(TestData.WriteCorpus(folder.Folder("corpus"))).GetAwaiter().GetResult();
    }

    public RagIndex Index { get; }

    public IngestReport Report { get; }

    public void Dispose()
    {
        Index.Dispose();
        folder.Dispose();
    }
}
