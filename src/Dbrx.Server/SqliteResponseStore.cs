using Microsoft.Data.Sqlite;

namespace Dbrx.Server;

/// <summary>
/// Stored responses in a SQLite file (<see cref="DbrxResponseStoreOptions.SqlitePath"/>), so a restart loses none.
/// Each row has its last use (a tick count that only grows, across restarts too), which eviction orders by.
/// </summary>
internal sealed class SqliteResponseStore : IResponseStore
{
    private readonly DbrxResponseStoreOptions options;
    private readonly string connectionString;
    private long lastUse;

    public SqliteResponseStore(DbrxResponseStoreOptions options)
    {
        this.options = options;
        connectionString = new SqliteConnectionStringBuilder { DataSource = options.SqlitePath, Mode = SqliteOpenMode.ReadWriteCreate, Pooling = true }.ToString();
        using SqliteConnection connection = Open();
        Execute(connection, """
            PRAGMA journal_mode = WAL;
            CREATE TABLE IF NOT EXISTS responses (id TEXT PRIMARY KEY, json TEXT NOT NULL, input_items TEXT NOT NULL, bytes INTEGER NOT NULL, used INTEGER NOT NULL);
            CREATE INDEX IF NOT EXISTS responses_used ON responses (used);
            """);
    }

    public async Task SaveAsync(StoredResponse response, CancellationToken cancellationToken)
    {
        if (response.Bytes > options.MaxStoredBytes)
            return;
        await using SqliteConnection connection = Open();
        await using SqliteTransaction transaction = connection.BeginTransaction();
        Execute(connection, "INSERT OR REPLACE INTO responses (id, json, input_items, bytes, used) VALUES ($id, $json, $items, $bytes, $used)",
            ("$id", response.Id), ("$json", response.Json), ("$items", response.InputItems), ("$bytes", response.Bytes), ("$used", NextUse()));
        // Everything past the newest MaxStoredResponses rows, or past MaxStoredBytes counted from the newest.
        Execute(connection, """
            DELETE FROM responses WHERE id IN (
              SELECT id FROM (SELECT id, ROW_NUMBER() OVER newest AS rank, SUM(bytes) OVER newest AS total FROM responses WINDOW newest AS (ORDER BY used DESC ROWS UNBOUNDED PRECEDING))
              WHERE rank > $count OR total > $bytes)
            """, ("$count", options.MaxStoredResponses), ("$bytes", options.MaxStoredBytes));
        await transaction.CommitAsync(cancellationToken);
    }

    public async Task<StoredResponse?> GetAsync(string id, CancellationToken cancellationToken)
    {
        await using SqliteConnection connection = Open();
        using SqliteCommand command = Command(connection, "UPDATE responses SET used = $used WHERE id = $id RETURNING json, input_items", ("$id", id), ("$used", NextUse()));
        await using SqliteDataReader reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken) ? new StoredResponse(id, reader.GetString(0), reader.GetString(1)) : null;
    }

    public async Task<bool> DeleteAsync(string id, CancellationToken cancellationToken)
    {
        await using SqliteConnection connection = Open();
        using SqliteCommand command = Command(connection, "DELETE FROM responses WHERE id = $id", ("$id", id));
        return await command.ExecuteNonQueryAsync(cancellationToken) > 0;
    }

    /// <summary>A use stamp later than every earlier one: the clock's ticks, or one more than the last stamp.</summary>
    private long NextUse()
    {
        while (true)
        {
            long last = Interlocked.Read(ref lastUse);
            long next = Math.Max(last + 1, DateTime.UtcNow.Ticks);
            if (Interlocked.CompareExchange(ref lastUse, next, last) == last)
                return next;
        }
    }

    private SqliteConnection Open()
    {
        var connection = new SqliteConnection(connectionString);
        connection.Open();
        return connection;
    }

    private static void Execute(SqliteConnection connection, string sql, params (string Name, object Value)[] parameters)
    {
        using SqliteCommand command = Command(connection, sql, parameters);
        command.ExecuteNonQuery();
    }

    private static SqliteCommand Command(SqliteConnection connection, string sql, params (string Name, object Value)[] parameters)
    {
        SqliteCommand command = connection.CreateCommand();
        command.CommandText = sql;
        foreach (var (name, value) in parameters)
            command.Parameters.AddWithValue(name, value);
        return command;
    }
}
