using System.CommandLine;
using Dbrx.Inference.Checkpoints;
using Dbrx.Inference.Tokenization;
using Dbrx.Rag.Answering;
using Dbrx.Rag.Indexing;
using Dbrx.Rag.Ingestion;
using Dbrx.Rag.Retrieval;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;

namespace Dbrx.Rag.Commands;

/// <summary>What the commands build from their options: the index, the chat client, the conversation.</summary>
internal static class RagSetup
{
    private static string DataFolder { get; } = Path.Combine(
        Environment.GetFolderPath(Environment.SpecialFolder.LocalApplicationData, Environment.SpecialFolderOption.Create), "dbrx", "rag");

    /// <summary>Your documents' index when <c>--index</c> is not given: <c>ingest</c> writes it, <c>ask</c> and <c>chat</c> read it.</summary>
    public static string DefaultIndexPath { get; } = Path.Combine(DataFolder, "index.db");

    /// <summary>The shipped corpus's own index, which <c>ask</c> and <c>chat</c> use while you have ingested nothing: never your documents.</summary>
    public static string CorpusIndexPath { get; } = Path.Combine(DataFolder, "corpus.db");

    /// <summary>The documents shipped with the sample (this repository's README and a few written for it), beside the executable.</summary>
    public static string ShippedCorpus => Path.Combine(AppContext.BaseDirectory, "Corpus");

    /// <summary>
    /// The index the options name; without <c>--index</c>, your default index if <c>ingest</c> has written it, else the
    /// shipped corpus's own index, first brought in line with the corpus (an incremental ingest: nothing is written
    /// when nothing changed). The corpus never goes into an index of yours.
    /// </summary>
    public static async Task<RagIndex> OpenIndexAsync(ParseResult parse, CancellationToken cancellationToken)
    {
        if (parse.GetValue(RagOptions.Index) is { } file)
        {
            if (!file.Exists)
                throw new FileNotFoundException($"The index '{file.FullName}' does not exist; create it with: ingest DIR --index {file.FullName}");
            return RagIndex.Open(file.FullName);
        }
        if (File.Exists(DefaultIndexPath))
            return RagIndex.Open(DefaultIndexPath);
        var index = RagIndex.Open(CorpusIndexPath);
        var report = await new Ingestor(index, new Chunker(DbrxTokenizer.Default)).IngestAsync(ShippedCorpus, prune: true, cancellationToken: cancellationToken);
        if (report.Added + report.Updated + report.Removed > 0)
            Console.Error.WriteLine($"indexed the shipped corpus into {CorpusIndexPath}: {report.ChunksWritten} chunks (ingest DIR puts your documents into {DefaultIndexPath}, which is then used instead)");
        return index;
    }

    /// <summary>
    /// The DBRX chat client through DI, with function invocation, as an application registers it; <paramref name="inside"/>
    /// may add middleware between the function-invocation loop and the client (the benchmark times each model call there).
    /// </summary>
    public static ServiceProvider ChatServices(ParseResult parse, bool reusePromptPrefixes = true, Action<ChatClientBuilder>? inside = null)
    {
        string model = parse.GetValue(RagOptions.Model)?.FullName ?? TinyModel();
        var services = new ServiceCollection();
        var builder = services.AddDbrxChatClient(options =>
        {
            options.ModelPath = model;
            options.Device = parse.GetValue(RagOptions.Device)!;
            options.DropOldestMessages = true;   // the agent's session history; RagChat keeps its own within budget
            options.ReusePromptPrefixes = reusePromptPrefixes;
        }).UseFunctionInvocation();
        inside?.Invoke(builder);
        return services.BuildServiceProvider();
    }

    /// <summary>The tiny random DBRX the samples share, created on first use.</summary>
    public static string TinyModel()
    {
        Console.Error.WriteLine("No --model given: using a tiny random DBRX (answers are noise; retrieval, prompts, tools, citations and caching are real).");
        return DbrxRandomCheckpoint.EnsureTinySample();
    }

    public static RagRetriever Retriever(ParseResult parse, RagIndex index) => new(index, new RetrieverOptions { Top = parse.GetValue(RagOptions.Top) });

    public static RagChatOptions ChatOptions(ParseResult parse) => new()
    {
        MaxOutputTokens = parse.GetValue(RagOptions.MaxTokens),
        Temperature = parse.GetValue(RagOptions.Temperature),
        Seed = parse.GetValue(RagOptions.Seed),
    };

    /// <summary>A conversation of the way the options choose.</summary>
    public static Func<string, Action<string>, CancellationToken, Task<RagTurn>> Conversation(ParseResult parse, IChatClient client, RagRetriever retriever, out Action reset)
    {
        bool json = parse.GetValue(RagOptions.Json);
        if (parse.GetValue(RagOptions.Way) == "agent")
        {
            if (json)
                throw new ArgumentException("--json needs --way tool: the structured answer's schema is built from the passages the search tool returned.");
            var agent = new AgentRagChat(client, retriever, ChatOptions(parse));
            reset = agent.Reset;
            return agent.AskAsync;
        }
        var chat = new RagChat(client, retriever, ChatOptions(parse));
        reset = chat.Reset;
        return json ? (question, _, cancellation) => chat.AskStructuredAsync(question, cancellation) : chat.AskAsync;
    }
}
