namespace Dbrx.Rag.Indexing;

/// <summary>
/// One ingest at a time per index, across processes: a lock file beside the index (<c>INDEX.lock</c>), held open
/// without sharing while an ingest runs (.NET takes an advisory lock on it), so a second ingest into the same index
/// waits for the first to finish instead of interleaving with it. Searching never needs it.
/// </summary>
public sealed class IngestLock : IDisposable
{
    private readonly FileStream file;

    private IngestLock(FileStream file) => this.file = file;

    /// <summary>Takes the index's lock, waiting while another ingest holds it.</summary>
    /// <param name="indexPath">The index file.</param>
    /// <param name="waiting">Called once if the lock is held by another ingest, before waiting for it.</param>
    /// <param name="cancellationToken">Stops waiting.</param>
    public static async Task<IngestLock> AcquireAsync(string indexPath, Action? waiting = null, CancellationToken cancellationToken = default)
    {
        string path = indexPath + ".lock";
        bool told = false;
        while (true)
        {
            try
            {
                return new IngestLock(new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None));
            }
            catch (IOException) when (File.Exists(path))
            {
                if (!told)
                {
                    waiting?.Invoke();
                    told = true;
                }
                await Task.Delay(100, cancellationToken);
            }
        }
    }

    /// <summary>Releases the lock (the file stays, empty, for the next ingest).</summary>
    public void Dispose() => file.Dispose();
}
