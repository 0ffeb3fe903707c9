namespace Dbrx.Rag.Ingestion;

/// <summary>A file that could not be ingested, and why.</summary>
/// <param name="Source">The file, relative to the ingested folder.</param>
/// <param name="Reason">What went wrong.</param>
public sealed record SkippedFile(string Source, string Reason);

/// <summary>What an ingest did.</summary>
/// <param name="Added">New documents indexed.</param>
/// <param name="Updated">Documents whose content changed, re-indexed.</param>
/// <param name="Unchanged">Documents whose hash matched the index: nothing written.</param>
/// <param name="Removed">Indexed documents whose file is gone, removed from the index.</param>
/// <param name="Skipped">Files that could not be read or parsed (their earlier chunks, if any, stay).</param>
/// <param name="ChunksWritten">Chunks written for the added and updated documents.</param>
public sealed record IngestReport(int Added, int Updated, int Unchanged, int Removed, IReadOnlyList<SkippedFile> Skipped, int ChunksWritten);

/// <summary>Progress of an ingest, reported after each file.</summary>
/// <param name="FilesDone">Files looked at so far.</param>
/// <param name="FilesTotal">Files to look at.</param>
/// <param name="ChunksWritten">Chunks written so far.</param>
public sealed record IngestProgress(int FilesDone, int FilesTotal, int ChunksWritten);
