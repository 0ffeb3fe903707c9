using System.Security.Cryptography;
using Dbrx.Rag.Indexing;
using Microsoft.Extensions.AI;

namespace Dbrx.Rag.Ingestion;

/// <summary>
/// Brings an index in line with a folder: every Markdown, text and PDF file under it (hidden folders excepted) is
/// hashed; a file whose hash the index already has is left alone, a new or changed one is read, chunked (and embedded,
/// with a generator) and its chunks replace the old ones in one transaction, and documents whose file is gone are
/// removed. A file that cannot be read or parsed is reported by name and skipped; the rest goes in. The index mirrors
/// one folder, but it never loses documents by surprise: an ingest that would remove more than
/// <see cref="SafeRemovals"/> documents, or every document (an empty or mistyped folder), is refused before anything
/// is written unless pruning is asked for. One ingest runs at a time per index (<see cref="IngestLock"/>).
/// </summary>
public sealed class Ingestor
{
    /// <summary>Documents an ingest may remove without being asked to prune (files deleted since the last ingest).</summary>
    public const int SafeRemovals = 3;

    private readonly RagIndex index;
    private readonly Chunker chunker;
    private readonly IEmbeddingGenerator<string, Embedding<float>>? embeddings;

    /// <summary>Creates an ingestor.</summary>
    /// <param name="index">The index written.</param>
    /// <param name="chunker">How documents are cut.</param>
    /// <param name="embeddings">When given, each chunk also gets an embedding (for fused retrieval).</param>
    public Ingestor(RagIndex index, Chunker chunker, IEmbeddingGenerator<string, Embedding<float>>? embeddings = null)
    {
        ArgumentNullException.ThrowIfNull(index);
        ArgumentNullException.ThrowIfNull(chunker);
        this.index = index;
        this.chunker = chunker;
        this.embeddings = embeddings;
    }

    /// <summary>Ingests a folder. Cancellation stops between files: what was written stays consistent.</summary>
    /// <param name="folder">The folder.</param>
    /// <param name="prune">Remove the documents whose files are not in the folder, however many.</param>
    /// <param name="progress">Receives the progress after each file.</param>
    /// <param name="waiting">Called if another ingest into the index runs, before waiting for it.</param>
    /// <param name="cancellationToken">Stops the ingest between files.</param>
    /// <exception cref="DirectoryNotFoundException">The folder does not exist.</exception>
    /// <exception cref="InvalidOperationException">It would remove more documents than is safe without <paramref name="prune"/>; nothing was written.</exception>
    public async Task<IngestReport> IngestAsync(string folder, bool prune = false, IProgress<IngestProgress>? progress = null, Action? waiting = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(folder);
        string root = Path.GetFullPath(folder);
        if (!Directory.Exists(root))
            throw new DirectoryNotFoundException($"The folder to ingest, '{folder}', does not exist.");
        using var writing = await IngestLock.AcquireAsync(index.Path, waiting, cancellationToken);
        var files = Files(root);
        var indexed = index.DocumentHashes();
        var present = files.Select(f => f.Source).ToHashSet(StringComparer.Ordinal);
        var gone = indexed.Keys.Where(s => !present.Contains(s)).Order(StringComparer.Ordinal).ToList();
        if (!prune && gone.Count > 0 && (gone.Count > SafeRemovals || gone.Count == indexed.Count))
            throw new InvalidOperationException(
                $"Ingesting '{folder}' would remove {gone.Count} of the {indexed.Count} documents in {index.Path} (their files are not in that folder"
                + $"{(files.Count == 0 ? ", which has no Markdown, text or PDF files" : "")}; for example {string.Join(", ", gone.Take(3))}). "
                + "Nothing was changed. Check the folder, ingest into another index with --index, or pass --prune to remove them.");
        int added = 0, updated = 0, unchanged = 0, removed = 0, chunksWritten = 0, done = 0;
        var skipped = new List<SkippedFile>();

        foreach (var (path, source) in files)
        {
            cancellationToken.ThrowIfCancellationRequested();
            try
            {
                byte[] content = await File.ReadAllBytesAsync(path, cancellationToken);
                string hash = Convert.ToHexStringLower(SHA256.HashData(content));
                if (indexed.TryGetValue(source, out string? known) && known == hash)
                {
                    unchanged++;
                }
                else
                {
                    IReadOnlyList<Chunk> chunks = chunker.Split(DocumentReaders.For(path)!.Read(content));
                    var vectors = embeddings is null || chunks.Count == 0 ? null : await Embed(chunks, cancellationToken);
                    index.ReplaceDocument(source, hash, chunks, vectors);
                    chunksWritten += chunks.Count;
                    if (indexed.ContainsKey(source))
                        updated++;
                    else
                        added++;
                }
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or InvalidDataException)
            {
                skipped.Add(new SkippedFile(source, e.Message));
            }
            progress?.Report(new IngestProgress(++done, files.Count, chunksWritten));
        }

        foreach (string source in gone)
        {
            cancellationToken.ThrowIfCancellationRequested();
            index.RemoveDocument(source);
            removed++;
        }
        return new IngestReport(added, updated, unchanged, removed, skipped, chunksWritten);
    }

    private async Task<IReadOnlyList<ReadOnlyMemory<float>>> Embed(IReadOnlyList<Chunk> chunks, CancellationToken cancellationToken)
    {
        var generated = await embeddings!.GenerateAsync(chunks.Select(c => c.Text), cancellationToken: cancellationToken);
        return [.. generated.Select(e => e.Vector)];
    }

    /// <summary>The files to ingest, with their source paths ('/'-separated, relative to the root), in path order.</summary>
    private static List<(string Path, string Source)> Files(string root)
    {
        var options = new EnumerationOptions { RecurseSubdirectories = true, AttributesToSkip = FileAttributes.Hidden, IgnoreInaccessible = true };
        return [.. Directory.EnumerateFiles(root, "*", options)
            .Where(p => DocumentReaders.For(p) is not null)
            .Where(p => !Path.GetRelativePath(root, p).Split(Path.DirectorySeparatorChar).Any(part => part.StartsWith('.')))
            .Select(p => (p, Path.GetRelativePath(root, p).Replace(Path.DirectorySeparatorChar, '/')))
            .OrderBy(f => f.Item2, StringComparer.Ordinal)];
    }
}
