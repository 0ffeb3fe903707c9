using System.Diagnostics;
using Dbrx.Inference.Tokenization;
using Dbrx.Rag.Bench;
using Dbrx.Rag.Indexing;
using Dbrx.Rag.Ingestion;
using Dbrx.Rag.Tests.Support;
using Microsoft.Data.Sqlite;

namespace Dbrx.Rag.Tests;

/// <summary>
/// The sample's <c>ingest</c> runs as a child process and is killed (SIGKILL, no chance to clean up) in the middle of a
/// large folder, twice; each time the index must be consistent, every document in it complete, and the next ingest must
/// finish the job without redoing what was already indexed.
/// </summary>
[Trait("Category", "Slow")]
public sealed class KillDuringIngestTests
{
    private const int Files = 600;
    private const int Parts = 6;

    private static string Marker(int file, int part) => $"Marker f{file}p{part}.";

    [Fact]
    public async Task A_killed_ingest_leaves_a_consistent_index_that_the_next_ingest_completes()
    {
        using var temp = new TempFolder();
        string docs = temp.Folder("docs");
        var corpus = new SyntheticCorpus(seed: 5);
        for (int file = 0; file < Files; file++)
            File.WriteAllText(Path.Combine(docs, $"file{file:D4}.md"),
                $"# File {file}\n\n" + string.Concat(Enumerable.Range(0, Parts).Select(part => $"## Part {part}\n\n{Marker(file, part)} {corpus.Sentence(50)}\n\n")));
        string db = temp.File("index.db");

        long indexed = 0;
        foreach (int round in new[] { 1, 2 })
        {
            using var child = RagProcess.Start("ingest", docs, "--index", db);
            var clock = Stopwatch.StartNew();
            long target = indexed + 15;
            // The child's commits show only in the index file, so it is polled.
            while (await Documents(db) < target)
            {
                if (child.HasExited)
                    Assert.Fail($"round {round}: the ingest ended before it could be killed; stderr: {await child.StandardError.ReadToEndAsync(TestContext.Current.CancellationToken)}");
                Assert.True(clock.Elapsed < TimeSpan.FromMinutes(2), $"round {round}: no progress after two minutes");
                await Task.Delay(10, TestContext.Current.CancellationToken);
            }
            long seen = await Documents(db);
            child.Kill(entireProcessTree: true);
            TestContext.Current.SendDiagnosticMessage($"round {round}: killed at {seen} documents after {clock.ElapsedMilliseconds} ms");
            await child.WaitForExitAsync(TestContext.Current.CancellationToken);

            using var index = RagIndex.Open(db);
            Assert.Empty(index.CheckConsistency());
            var hashes = index.DocumentHashes();
            Assert.InRange(hashes.Count, target, Files - 1);
            foreach (string source in hashes.Keys)
            {
                // Every part of every indexed file is there: checked against what was written, not against the chunker.
                int file = int.Parse(source["file".Length..^".md".Length]);
                string text = string.Join('\n', index.DocumentChunks(source).Select(p => p.Text));
                Assert.All(Enumerable.Range(0, Parts), part => Assert.Contains(Marker(file, part), text, StringComparison.Ordinal));
            }
            indexed = hashes.Count;
        }

        using (var index = RagIndex.Open(db))
        {
            var report = await new Ingestor(index, new Chunker(DbrxTokenizer.Default)).IngestAsync(docs, cancellationToken: TestContext.Current.CancellationToken);
            Assert.Equal((int)indexed, report.Unchanged);
            Assert.Equal(Files - (int)indexed, report.Added);
            Assert.Equal(Files, index.Statistics().Documents);
            Assert.Empty(index.CheckConsistency());
        }
    }

    /// <summary>Documents committed so far, read through a connection of its own that only reads.</summary>
    private static async Task<long> Documents(string db)
    {
        if (!File.Exists(db))
            return 0;
        try
        {
            await using var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = db, Mode = SqliteOpenMode.ReadWrite, Pooling = false }.ToString());
            await connection.OpenAsync();
            await using var command = connection.CreateCommand();
            command.CommandText = "SELECT count(*) FROM documents";
            return (long)(await command.ExecuteScalarAsync())!;
        }
        catch (SqliteException)
        {
            return 0;   // the child is still creating the schema
        }
    }
}
