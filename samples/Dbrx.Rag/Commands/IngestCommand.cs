using System.CommandLine;
using System.Diagnostics;
using Dbrx.Inference.Tokenization;
using Dbrx.Rag.Indexing;
using Dbrx.Rag.Ingestion;

namespace Dbrx.Rag.Commands;

/// <summary><c>ingest DIR</c>: brings an index in line with a folder of Markdown, text and PDF files.</summary>
internal static class IngestCommand
{
    /// <summary>Progress is shown from this many files on.</summary>
    private const int LargeFolder = 20;

    public static Command Create()
    {
        var folder = new Argument<DirectoryInfo>("DIR") { Description = $"The folder to ingest: its {string.Join(", ", DocumentReaders.Extensions)} files, in subfolders too." };
        var chunkTokens = new Option<int>("--chunk-tokens") { Description = "Most DBRX tokens per chunk.", DefaultValueFactory = _ => new ChunkerOptions().MaxTokens };
        var overlap = new Option<int>("--overlap-tokens") { Description = "Most tokens a chunk repeats from the one before.", DefaultValueFactory = _ => new ChunkerOptions().OverlapTokens };
        var prune = new Option<bool>("--prune") { Description = $"Remove the documents whose files are not in DIR, however many (without it, more than {Ingestor.SafeRemovals}, or all of them, is refused)." };
        var command = new Command("ingest", $"Index a folder: new and changed files are (re)chunked, unchanged ones left alone, deleted ones removed (more than {Ingestor.SafeRemovals} only with --prune).")
        {
            folder, RagOptions.Index, chunkTokens, overlap, prune,
        };
        command.SetAction(RagAction.Run(async (parse, cancellation) =>
        {
            var options = new ChunkerOptions { MaxTokens = parse.GetValue(chunkTokens), OverlapTokens = parse.GetValue(overlap) };
            DirectoryInfo source = parse.GetValue(folder)!;
            // Checked before the index is opened, so a mistyped folder leaves no empty index behind.
            if (!source.Exists)
                throw new DirectoryNotFoundException($"The folder to ingest, '{source.FullName}', does not exist; nothing was changed.");
            string path = parse.GetValue(RagOptions.Index)?.FullName ?? RagSetup.DefaultIndexPath;
            using var index = RagIndex.Open(path);
            var ingestor = new Ingestor(index, new Chunker(DbrxTokenizer.Default, options));
            var clock = Stopwatch.StartNew();
            var report = await ingestor.IngestAsync(source.FullName, parse.GetValue(prune), new Progress(),
                () => Console.Error.WriteLine($"ingest: another ingest into {path} is running; waiting for it to finish"), cancellation);
            foreach (var skipped in report.Skipped)
                Console.Error.WriteLine($"skipped {skipped.Source}: {skipped.Reason}");
            var totals = index.Statistics();
            Console.WriteLine($"{path}: {report.Added} added, {report.Updated} updated, {report.Unchanged} unchanged, {report.Removed} removed, {report.Skipped.Count} skipped; "
                + $"{report.ChunksWritten} chunks written in {clock.Elapsed.TotalSeconds:F1} s; the index holds {totals.Documents} documents, {totals.Chunks} chunks.");
            return report.Skipped.Count > 0 ? 2 : 0;
        }));
        return command;
    }

    /// <summary>One line on stderr for large folders: rewritten in place on a terminal, every 50 files otherwise.</summary>
    private sealed class Progress : IProgress<IngestProgress>
    {
        public void Report(IngestProgress value)
        {
            if (value.FilesTotal < LargeFolder)
                return;
            string line = $"ingest: {value.FilesDone}/{value.FilesTotal} files, {value.ChunksWritten} chunks written";
            if (!Console.IsErrorRedirected)
                Console.Error.Write($"\r{line}{(value.FilesDone == value.FilesTotal ? "\n" : "")}");
            else if (value.FilesDone % 50 == 0 || value.FilesDone == value.FilesTotal)
                Console.Error.WriteLine(line);
        }
    }
}
