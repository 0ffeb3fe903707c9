using System.Diagnostics;
using System.Runtime.InteropServices;
using Dbrx.Inference.Tokenization;
using Dbrx.Rag.Answering;
using Dbrx.Rag.Indexing;
using Dbrx.Rag.Ingestion;
using Dbrx.Rag.Retrieval;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.AI;

namespace Dbrx.Rag.Bench;

/// <summary>
/// The RAG pipeline's speeds, each measured in one run on this machine: ingest throughput over synthetic Markdown
/// files, BM25 query latency over synthetic indexes of given sizes, and the time to the first answer token of a
/// follow-up question with and without the cached prefix of the earlier turn.
/// </summary>
internal sealed class RagBenchmark(string workFolder, TextWriter output)
{
    public sealed record IngestResult(int Files, int Chunks, double Seconds, double ChunksPerSecond, double MegabytesPerSecond);

    public sealed record QueryResult(int Chunks, double BuildSeconds, double InsertChunksPerSecond, long FileBytes, int Queries, double P50Milliseconds, double P99Milliseconds);

    public sealed record AnswerResult(bool CachedPrefix, double FirstTokenMilliseconds, long PromptTokens, long CachedTokens);

    public static string Machine()
    {
        string cpu = File.Exists("/proc/cpuinfo")
            ? File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal))?.Split(':', 2)[1].Trim() ?? "unknown CPU"
            : RuntimeInformation.ProcessArchitecture.ToString();
        return $"{cpu}, {Environment.ProcessorCount} cores, {RuntimeInformation.OSDescription}, .NET {Environment.Version}";
    }

    /// <summary>Writes synthetic Markdown files (4 sections of 3 paragraphs of 72 words each) and ingests them through the real ingestor.</summary>
    public async Task<IngestResult> IngestAsync(int files, CancellationToken cancellationToken)
    {
        string folder = Directory.CreateDirectory(Path.Combine(workFolder, "ingest-docs")).FullName;
        var corpus = new SyntheticCorpus(seed: 7);
        long bytes = 0;
        for (int i = 0; i < files; i++)
        {
            string text = corpus.MarkdownDocument($"Document {i}", sections: 4, paragraphsPerSection: 3, wordsPerParagraph: 72);
            bytes += text.Length;
            await File.WriteAllTextAsync(Path.Combine(folder, $"doc{i:D4}.md"), text, cancellationToken);
        }
        using var index = RagIndex.Open(Path.Combine(workFolder, "ingest.db"));
        _ = DbrxTokenizer.Default.Encode("warm up");   // loading the vocabulary is not ingesting
        var clock = Stopwatch.StartNew();
        var report = await new Ingestor(index, new Chunker(DbrxTokenizer.Default)).IngestAsync(folder, cancellationToken: cancellationToken);
        double seconds = clock.Elapsed.TotalSeconds;
        var result = new IngestResult(files, report.ChunksWritten, seconds, report.ChunksWritten / seconds, bytes / 1e6 / seconds);
        output.WriteLine($"ingest: {files} Markdown files ({bytes / 1e6:F1} MB), {report.ChunksWritten} chunks in {seconds:F1} s: {result.ChunksPerSecond:F0} chunks/s, {result.MegabytesPerSecond:F2} MB/s (read, parse, chunk with the tokenizer, write)");
        return result;
    }

    /// <summary>Builds a synthetic index of this many chunks (30-word chunks, inserted in 10,000-chunk transactions), then times BM25 top-5 queries.</summary>
    public async Task<QueryResult> QueryAsync(int chunks, int queries, CancellationToken cancellationToken)
    {
        string path = Path.Combine(workFolder, $"query-{chunks}.db");
        using var index = RagIndex.Open(path);
        var corpus = new SyntheticCorpus(seed: 11);
        var clock = Stopwatch.StartNew();
        for (int start = 0, document = 0; start < chunks; start += 10_000, document++)
            index.ReplaceDocument($"synthetic/{document:D3}.md", "synthetic", [.. corpus.Chunks(Math.Min(10_000, chunks - start), wordsPerChunk: 30)]);
        double build = clock.Elapsed.TotalSeconds;
        var retriever = new RagRetriever(index);
        for (int i = 0; i < 20; i++)
            await retriever.SearchAsync(corpus.Query(), cancellationToken: cancellationToken);
        var times = new List<double>(queries);
        for (int i = 0; i < queries; i++)
        {
            string query = corpus.Query();
            long start = Stopwatch.GetTimestamp();
            await retriever.SearchAsync(query, cancellationToken: cancellationToken);
            times.Add(Stopwatch.GetElapsedTime(start).TotalMilliseconds);
        }
        times.Sort();
        var result = new QueryResult(chunks, build, chunks / build, new FileInfo(path).Length + new FileInfo(path + "-wal").Length, queries, Percentile(times, 0.50), Percentile(times, 0.99));
        output.WriteLine($"query: {chunks:N0} chunks (built in {build:F1} s, {result.InsertChunksPerSecond:F0} chunks/s, {result.FileBytes / 1e6:F0} MB): "
            + $"BM25 top 5 over {queries} queries of 3 words: p50 {result.P50Milliseconds:F2} ms, p99 {result.P99Milliseconds:F2} ms");
        SqliteConnection.ClearAllPools();
        return result;
    }

    /// <summary>Question and follow-up pairs about the shipped corpus, one conversation each.</summary>
    private static readonly (string Question, string FollowUp)[] Conversations =
    [
        ("How do I load dbrx-instruct in int4?", "And how much GPU memory does that need?"),
        ("How are concurrent requests batched?", "And what happens when too many requests wait?"),
        ("Which tokenizer does DBRX use?", "And how long a context does it support?"),
    ];

    /// <summary>
    /// Holds three conversations of a question and a follow-up through <see cref="RagChat"/> (greedy, short answers) with
    /// prefix reuse on or off, and times each follow-up's answer call (the one after the search) from its start to its
    /// first text: the prefill of the conversation so far, less what the cache holds, and one token. Reports the median.
    /// </summary>
    public async Task<AnswerResult> FollowUpAsync(Func<bool, Action<ChatClientBuilder>, IChatClient> client, RagIndex corpus, bool cachedPrefix, CancellationToken cancellationToken)
    {
        CallTimer? timer = null;
        IChatClient timed = client(cachedPrefix, b => b.Use(inner => timer = new CallTimer(inner)));
        var answers = new List<CallTimer.Call>();
        foreach (var (question, followUp) in Conversations)
        {
            var chat = new RagChat(timed, new RagRetriever(corpus), new RagChatOptions { MaxOutputTokens = 32, Temperature = 0 });
            await chat.AskAsync(question, cancellationToken: cancellationToken);
            timer!.Calls.Clear();
            await chat.AskAsync(followUp, cancellationToken: cancellationToken);
            answers.Add(timer.Calls[^1]);
        }
        CallTimer.Call median = answers.OrderBy(a => a.FirstTextMilliseconds).ElementAt(answers.Count / 2);
        var result = new AnswerResult(cachedPrefix, median.FirstTextMilliseconds, median.Usage?.InputTokenCount ?? 0, median.Usage?.CachedInputTokenCount ?? 0);
        output.WriteLine($"answer: follow-up's answer call {(cachedPrefix ? "with" : "without")} the cached prefix: first token after {result.FirstTokenMilliseconds:F0} ms, median of {answers.Count} "
            + $"({string.Join(", ", answers.Select(a => $"{a.FirstTextMilliseconds:F0} ms for {a.Usage?.InputTokenCount} prompt tokens, {a.Usage?.CachedInputTokenCount} cached"))})");
        return result;
    }

    private static double Percentile(List<double> sorted, double p) => sorted[Math.Clamp((int)Math.Ceiling(p * sorted.Count) - 1, 0, sorted.Count - 1)];
}
