namespace Dbrx.Server;

/// <summary>
/// Where <c>POST /v1/responses</c> keeps responses it is asked to store (<c>store</c>, true by default as in OpenAI's
/// API), for <c>GET /v1/responses/{id}</c>, <c>DELETE</c> and follow-ups through <c>previous_response_id</c>. Bounded by
/// count and bytes; past either bound the least recently used responses are dropped. In memory by default (a restart
/// forgets them); with <see cref="SqlitePath"/>, in a SQLite file that survives restarts.
/// </summary>
public sealed class DbrxResponseStoreOptions
{
    /// <summary>Most responses kept. Default 10,000.</summary>
    public int MaxStoredResponses { get; set; } = 10_000;

    /// <summary>Most bytes kept (each response's JSON with the conversation it continues, as UTF-16 in memory). Default 256 MiB.</summary>
    public long MaxStoredBytes { get; set; } = 256L * 1024 * 1024;

    /// <summary>A SQLite database file to keep responses in (created if missing); null keeps them in memory.</summary>
    public string? SqlitePath { get; set; }

    internal void Validate()
    {
        if (MaxStoredResponses < 1)
            throw new ArgumentException($"DbrxServerOptions.ResponseStore.MaxStoredResponses must be at least 1, not {MaxStoredResponses}.");
        if (MaxStoredBytes < 1024)
            throw new ArgumentException($"DbrxServerOptions.ResponseStore.MaxStoredBytes must be at least 1024, not {MaxStoredBytes}.");
        if (SqlitePath is { } path && string.IsNullOrWhiteSpace(path))
            throw new ArgumentException("DbrxServerOptions.ResponseStore.SqlitePath must be a file path or null, not blank.");
    }
}
