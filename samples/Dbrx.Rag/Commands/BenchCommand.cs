using System.CommandLine;
using System.Text.Json;
using Dbrx.Inference.Tokenization;
using Dbrx.Rag.Bench;
using Dbrx.Rag.Indexing;
using Dbrx.Rag.Ingestion;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;

namespace Dbrx.Rag.Commands;

/// <summary><c>bench</c>: ingest throughput, query latency at index sizes, answer time to first token with and without the cached prefix.</summary>
internal static class BenchCommand
{
    public static Command Create()
    {
        var files = new Option<int>("--files") { Description = "Synthetic Markdown files to ingest.", DefaultValueFactory = _ => 100 };
        var sizes = new Option<string>("--chunks") { Description = "Index sizes to query, comma-separated.", DefaultValueFactory = _ => "10000,100000" };
        var queries = new Option<int>("--queries") { Description = "Timed queries per index size.", DefaultValueFactory = _ => 200 };
        var json = new Option<bool>("--json") { Description = "Also print the figures as one JSON object." };
        var command = new Command("bench", "Measure ingest chunks/s, BM25 query latency p50/p99 at 10k and 100k chunks, and answer time to first token with and without the cached prefix.")
        {
            files, sizes, queries, json, RagOptions.Model, RagOptions.Device,
        };
        command.SetAction(RagAction.Run(async (parse, cancellation) =>
        {
            int[] chunkCounts = [.. parse.GetValue(sizes)!.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(s =>
                int.TryParse(s, out int n) && n > 0 ? n : throw new ArgumentException($"--chunks: '{s}' is not a positive number of chunks."))];
            string work = Directory.CreateTempSubdirectory("dbrx-rag-bench-").FullName;
            try
            {
                Console.WriteLine($"machine: {RagBenchmark.Machine()}");
                var bench = new RagBenchmark(work, Console.Out);
                var ingest = await bench.IngestAsync(parse.GetValue(files), cancellation);
                var query = new List<RagBenchmark.QueryResult>();
                foreach (int count in chunkCounts)
                    query.Add(await bench.QueryAsync(count, parse.GetValue(queries), cancellation));

                using var corpus = RagIndex.Open(Path.Combine(work, "corpus.db"));
                await new Ingestor(corpus, new Chunker(DbrxTokenizer.Default)).IngestAsync(RagSetup.ShippedCorpus, cancellationToken: cancellation);
                var providers = new List<ServiceProvider>();
                IChatClient Client(bool reuse, Action<ChatClientBuilder> inside)
                {
                    providers.Add(RagSetup.ChatServices(parse, reusePromptPrefixes: reuse, inside));
                    return providers[^1].GetRequiredService<IChatClient>();
                }
                var answers = new List<RagBenchmark.AnswerResult>();
                try
                {
                    foreach (bool cached in new[] { false, true })
                        answers.Add(await bench.FollowUpAsync(Client, corpus, cached, cancellation));
                }
                finally
                {
                    foreach (var provider in providers)
                        await provider.DisposeAsync();
                }
                Console.WriteLine($"answer: first token {answers[0].FirstTokenMilliseconds / answers[1].FirstTokenMilliseconds:F2}x sooner with the cached prefix");
                if (parse.GetValue(json))
                    Console.WriteLine(JsonSerializer.Serialize(new { machine = RagBenchmark.Machine(), ingest, query, answers }, new JsonSerializerOptions(JsonSerializerDefaults.Web)));
            }
            finally
            {
                Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
                Directory.Delete(work, recursive: true);
            }
            return 0;
        }));
        return command;
    }
}
