using System.Runtime.InteropServices;
using Dbrx.Rag.Ingestion;
using Dbrx.Rag.Retrieval;
using Microsoft.Data.Sqlite;

namespace Dbrx.Rag.Indexing;

/// <summary>
/// The index: one SQLite file in WAL mode. <c>documents</c> holds each ingested file's path and content hash,
/// <c>chunks</c> its chunks (location, text, token count, optional embedding), and <c>chunks_fts</c>, an FTS5 index
/// over the chunks' text and location (Porter stemming), kept in step by triggers and ranked with BM25. A document's
/// chunks are replaced in one transaction, so a crash leaves each document either as it was or as it is now.
/// </summary>
/// <remarks>
/// Thread-safe: each call opens a pooled connection of its own. WAL lets searches run while an ingest writes.
/// </remarks>
public sealed class RagIndex : IDisposable
{
    /// <summary>The schema version this code writes (<c>PRAGMA user_version</c>).</summary>
    public const int SchemaVersion = 1;

    private readonly string connectionString;

    private RagIndex(string path)
    {
        Path = System.IO.Path.GetFullPath(path);
        connectionString = new SqliteConnectionStringBuilder { DataSource = Path, Pooling = true }.ToString();
    }

    /// <summary>The database file.</summary>
    public string Path { get; }

    /// <summary>Opens an index, creating the file and its folder when they do not exist.</summary>
    /// <exception cref="InvalidDataException">The file is not an index of this version (or not SQLite at all).</exception>
    public static RagIndex Open(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        if (System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(path)) is { } folder)
            Directory.CreateDirectory(folder);
        var index = new RagIndex(path);
        try
        {
            index.CreateSchema();
        }
        catch (SqliteException e)
        {
            throw new InvalidDataException($"The index '{path}' cannot be opened: {e.Message}", e);
        }
        return index;
    }

    private void CreateSchema()
    {
        using var connection = Connect();
        long version = (long)Scalar(connection, "PRAGMA user_version")!;
        if (version is not 0 and not SchemaVersion)
            throw new InvalidDataException($"The index '{Path}' has schema version {version}; this program reads version {SchemaVersion}. Ingest into a new file.");
        Execute(connection, "PRAGMA journal_mode = WAL");
        using var transaction = connection.BeginTransaction();
        Execute(connection, """
            CREATE TABLE IF NOT EXISTS documents(
                id INTEGER PRIMARY KEY,
                source TEXT NOT NULL UNIQUE,
                sha256 TEXT NOT NULL,
                chunk_count INTEGER NOT NULL,
                ingested_utc TEXT NOT NULL);
            CREATE TABLE IF NOT EXISTS chunks(
                id INTEGER PRIMARY KEY,
                document_id INTEGER NOT NULL REFERENCES documents(id),
                ordinal INTEGER NOT NULL,
                location TEXT NOT NULL,
                text TEXT NOT NULL,
                tokens INTEGER NOT NULL,
                embedding BLOB);
            CREATE INDEX IF NOT EXISTS chunks_by_document ON chunks(document_id, ordinal);
            CREATE VIRTUAL TABLE IF NOT EXISTS chunks_fts USING fts5(text, location, content='chunks', content_rowid='id', tokenize='porter unicode61');
            CREATE TRIGGER IF NOT EXISTS chunks_indexed AFTER INSERT ON chunks BEGIN
                INSERT INTO chunks_fts(rowid, text, location) VALUES (new.id, new.text, new.location);
            END;
            CREATE TRIGGER IF NOT EXISTS chunks_unindexed AFTER DELETE ON chunks BEGIN
                INSERT INTO chunks_fts(chunks_fts, rowid, text, location) VALUES ('delete', old.id, old.text, old.location);
            END;
            """, transaction);
        Execute(connection, $"PRAGMA user_version = {SchemaVersion}", transaction);
        transaction.Commit();
    }

    /// <summary>Each indexed document's content hash, by source path.</summary>
    public IReadOnlyDictionary<string, string> DocumentHashes()
    {
        using var connection = Connect();
        using var command = Command(connection, "SELECT source, sha256 FROM documents");
        using var reader = command.ExecuteReader();
        var hashes = new Dictionary<string, string>(StringComparer.Ordinal);
        while (reader.Read())
            hashes[reader.GetString(0)] = reader.GetString(1);
        return hashes;
    }

    /// <summary>
    /// Replaces a document's chunks (adding the document if new) in one transaction.
    /// </summary>
    /// <param name="source">The document's path relative to the ingested folder.</param>
    /// <param name="sha256">Its content hash.</param>
    /// <param name="chunks">Its chunks.</param>
    /// <param name="embeddings">One embedding per chunk, or null.</param>
    public void ReplaceDocument(string source, string sha256, IReadOnlyList<Chunk> chunks, IReadOnlyList<ReadOnlyMemory<float>>? embeddings = null)
    {
        ArgumentNullException.ThrowIfNull(chunks);
        if (embeddings is not null && embeddings.Count != chunks.Count)
            throw new ArgumentException($"{embeddings.Count} embeddings were given for {chunks.Count} chunks of '{source}'.", nameof(embeddings));
        using var connection = Connect();
        using var transaction = connection.BeginTransaction();
        DeleteDocument(connection, transaction, source);
        using (var insert = Command(connection, "INSERT INTO documents(source, sha256, chunk_count, ingested_utc) VALUES ($source, $sha, $count, $now) RETURNING id", transaction))
        {
            insert.Parameters.AddWithValue("$source", source);
            insert.Parameters.AddWithValue("$sha", sha256);
            insert.Parameters.AddWithValue("$count", chunks.Count);
            insert.Parameters.AddWithValue("$now", DateTime.UtcNow.ToString("O"));
            long id = (long)insert.ExecuteScalar()!;
            InsertChunks(connection, transaction, id, chunks, embeddings);
        }
        transaction.Commit();
    }

    /// <summary>Removes a document and its chunks in one transaction; nothing happens when it is not indexed.</summary>
    public void RemoveDocument(string source)
    {
        using var connection = Connect();
        using var transaction = connection.BeginTransaction();
        DeleteDocument(connection, transaction, source);
        transaction.Commit();
    }

    /// <summary>The best chunks for an FTS5 query, best first, ranked by BM25 (text weighted 1, location 0.5).</summary>
    /// <param name="match">An FTS5 MATCH expression (see <see cref="Bm25Query"/>).</param>
    /// <param name="limit">Most chunks returned.</param>
    public IReadOnlyList<Passage> Search(string match, int limit)
    {
        using var connection = Connect();
        using var command = Command(connection, """
            SELECT c.id, d.source, c.location, c.text, -bm25(chunks_fts, 1.0, 0.5) AS score
            FROM chunks_fts
            JOIN chunks c ON c.id = chunks_fts.rowid
            JOIN documents d ON d.id = c.document_id
            WHERE chunks_fts MATCH $match
            ORDER BY bm25(chunks_fts, 1.0, 0.5)
            LIMIT $limit
            """);
        command.Parameters.AddWithValue("$match", match);
        command.Parameters.AddWithValue("$limit", limit);
        return ReadPassages(command);
    }

    /// <summary>Chunks by id (in the order given; unknown ids are left out).</summary>
    public IReadOnlyList<Passage> Chunks(IReadOnlyList<long> ids)
    {
        using var connection = Connect();
        using var command = Command(connection, "SELECT c.id, d.source, c.location, c.text, 0.0 FROM chunks c JOIN documents d ON d.id = c.document_id WHERE c.id = $id");
        var id = command.Parameters.Add("$id", SqliteType.Integer);
        var passages = new List<Passage>();
        foreach (long chunk in ids)
        {
            id.Value = chunk;
            passages.AddRange(ReadPassages(command));
        }
        return passages;
    }

    /// <summary>Each chunk id with its embedding, read one row at a time (for a similarity scan).</summary>
    public IEnumerable<(long ChunkId, float[] Embedding)> Embeddings()
    {
        using var connection = Connect();
        using var command = Command(connection, "SELECT id, embedding FROM chunks WHERE embedding IS NOT NULL");
        using var reader = command.ExecuteReader();
        while (reader.Read())
            yield return (reader.GetInt64(0), MemoryMarshal.Cast<byte, float>((byte[])reader.GetValue(1)).ToArray());
    }

    /// <summary>A document's chunks in order, as stored.</summary>
    public IReadOnlyList<Passage> DocumentChunks(string source)
    {
        using var connection = Connect();
        using var command = Command(connection, "SELECT c.id, d.source, c.location, c.text, 0.0 FROM chunks c JOIN documents d ON d.id = c.document_id WHERE d.source = $source ORDER BY c.ordinal");
        command.Parameters.AddWithValue("$source", source);
        return ReadPassages(command);
    }

    /// <summary>Counts of documents and chunks.</summary>
    public IndexStatistics Statistics()
    {
        using var connection = Connect();
        return new IndexStatistics(
            (long)Scalar(connection, "SELECT count(*) FROM documents")!,
            (long)Scalar(connection, "SELECT count(*) FROM chunks")!,
            (long)Scalar(connection, "SELECT count(*) FROM chunks WHERE embedding IS NOT NULL")!);
    }

    /// <summary>
    /// Checks the file and the full-text index (SQLite's <c>integrity_check</c> and FTS5's <c>integrity-check</c>,
    /// which compares the index with the chunks), and that every document has the chunk count it was stored with.
    /// Returns the problems found; empty when consistent.
    /// </summary>
    public IReadOnlyList<string> CheckConsistency()
    {
        using var connection = Connect();
        var problems = new List<string>();
        string integrity = (string)Scalar(connection, "PRAGMA integrity_check")!;
        if (integrity != "ok")
            problems.Add($"integrity_check: {integrity}");
        try
        {
            Execute(connection, "INSERT INTO chunks_fts(chunks_fts, rank) VALUES ('integrity-check', 1)");
        }
        catch (SqliteException e)
        {
            problems.Add($"FTS5 integrity-check: {e.Message}");
        }
        using var command = Command(connection, """
            SELECT d.source, d.chunk_count, count(c.id) FROM documents d LEFT JOIN chunks c ON c.document_id = d.id
            GROUP BY d.id HAVING d.chunk_count != count(c.id)
            """);
        using (var reader = command.ExecuteReader())
            while (reader.Read())
                problems.Add($"{reader.GetString(0)}: {reader.GetInt64(2)} chunks stored, {reader.GetInt64(1)} expected");
        long orphans = (long)Scalar(connection, "SELECT count(*) FROM chunks WHERE document_id NOT IN (SELECT id FROM documents)")!;
        if (orphans > 0)
            problems.Add($"{orphans} chunks belong to no document");
        return problems;
    }

    /// <summary>Closes pooled connections so the file can be moved or deleted.</summary>
    public void Dispose()
    {
        using var connection = new SqliteConnection(connectionString);
        SqliteConnection.ClearPool(connection);
    }

    private static void DeleteDocument(SqliteConnection connection, SqliteTransaction transaction, string source)
    {
        using var delete = Command(connection, """
            DELETE FROM chunks WHERE document_id IN (SELECT id FROM documents WHERE source = $source);
            DELETE FROM documents WHERE source = $source;
            """, transaction);
        delete.Parameters.AddWithValue("$source", source);
        delete.ExecuteNonQuery();
    }

    private static void InsertChunks(SqliteConnection connection, SqliteTransaction transaction, long documentId, IReadOnlyList<Chunk> chunks, IReadOnlyList<ReadOnlyMemory<float>>? embeddings)
    {
        using var insert = Command(connection, "INSERT INTO chunks(document_id, ordinal, location, text, tokens, embedding) VALUES ($document, $ordinal, $location, $text, $tokens, $embedding)", transaction);
        insert.Parameters.AddWithValue("$document", documentId);
        var ordinal = insert.Parameters.Add("$ordinal", SqliteType.Integer);
        var location = insert.Parameters.Add("$location", SqliteType.Text);
        var text = insert.Parameters.Add("$text", SqliteType.Text);
        var tokens = insert.Parameters.Add("$tokens", SqliteType.Integer);
        var embedding = insert.Parameters.Add("$embedding", SqliteType.Blob);
        insert.Prepare();
        for (int i = 0; i < chunks.Count; i++)
        {
            ordinal.Value = chunks[i].Ordinal;
            location.Value = chunks[i].Location;
            text.Value = chunks[i].Text;
            tokens.Value = chunks[i].Tokens;
            embedding.Value = embeddings is null ? DBNull.Value : MemoryMarshal.AsBytes(embeddings[i].Span).ToArray();
            insert.ExecuteNonQuery();
        }
    }

    private static List<Passage> ReadPassages(SqliteCommand command)
    {
        using var reader = command.ExecuteReader();
        var passages = new List<Passage>();
        while (reader.Read())
            passages.Add(new Passage(reader.GetInt64(0), reader.GetString(1), reader.GetString(2), reader.GetString(3), reader.GetDouble(4)));
        return passages;
    }

    private SqliteConnection Connect()
    {
        var connection = new SqliteConnection(connectionString);
        connection.Open();
        // Per connection: NORMAL is durable across process crashes in WAL mode (only a power loss may lose the last
        // commits); the busy timeout lets a search wait out an ingest's commit instead of failing.
        Execute(connection, "PRAGMA synchronous = NORMAL; PRAGMA busy_timeout = 5000");
        return connection;
    }

    private static SqliteCommand Command(SqliteConnection connection, string sql, SqliteTransaction? transaction = null)
    {
        var command = connection.CreateCommand();
        command.CommandText = sql;
        command.Transaction = transaction;
        return command;
    }

    private static void Execute(SqliteConnection connection, string sql, SqliteTransaction? transaction = null)
    {
        using var command = Command(connection, sql, transaction);
        command.ExecuteNonQuery();
    }

    private static object? Scalar(SqliteConnection connection, string sql)
    {
        using var command = Command(connection, sql);
        return command.ExecuteScalar();
    }
}
