using System.Security.Cryptography;
using Dbrx.Rag.Indexing;
using Microsoft.Extensions.AI;

namespace Dbrx.Rag.Ingestion;

/// <summary>
/// Brings an index in line with a folder: every Markdown, text and PDF file under it (hidden folders excepted) is
/// hashed; a file whose hash the index already has is left alone, a new or changed one is read, chunked (and embedded,
/// with a generator) and its chunks replace the old ones in one transaction, and documents whose file is gone are
/// removed. A file that cannot be read or parsed is reported by name and skipped; the rest goes in. The index mirrors
/// one folder: ingesting another folder into it removes the first one's documents.
/// </summary>
public sealed class Ingestor
{
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
    /// <exception cref="DirectoryNotFoundException">The folder does not exist.</exception>
    public async Task<IngestReport> IngestAsync(string folder, IProgress<IngestProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(folder);
        string root = Path.GetFullPath(folder);
        if (!Directory.Exists(root))
            throw new DirectoryNotFoundException($"The folder to ingest, '{folder}', does not exist.");
        var files = Files(root);
        var indexed = index.DocumentHashes();
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

        var present = files.Select(f => f.Source).ToHashSet(StringComparer.Ordinal);
        foreach (string gone in indexed.Keys.Where(s => !present.Contains(s)).Order(StringComparer.Ordinal))
        {
            cancellationToken.ThrowIfCancellationRequested();
            index.RemoveDocument(gone);
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
