namespace Dbrx.Inference.Generation;

/// <summary>
/// The requests waiting for a batch row: callers add them, the generator's worker takes them in order. Also the signal
/// that wakes the worker, and the flag that says the generator is stopping.
/// </summary>
internal sealed class RequestQueue(int maxQueuedRequests) : IDisposable
{
    private readonly Queue<GenerationSequence> waiting = new();
    private readonly SemaphoreSlim wake = new(0);
    private volatile bool stopping;

    /// <summary>Requests waiting now.</summary>
    public int Count
    {
        get
        {
            lock (waiting)
                return waiting.Count;
        }
    }

    /// <summary>The generator is being disposed: no request is added, none starts, running ones end.</summary>
    public bool IsStopping => stopping;

    /// <summary>
    /// Queues a request and wakes the worker. Requests that <paramref name="freeRows"/> will take at once do not count
    /// as waiting toward the limit.
    /// </summary>
    /// <exception cref="ObjectDisposedException">The generator is stopping.</exception>
    /// <exception cref="DbrxBusyException">Too many requests are waiting.</exception>
    public void Add(GenerationSequence sequence, int freeRows)
    {
        lock (waiting)
        {
            ObjectDisposedException.ThrowIf(stopping, typeof(DbrxGenerator));
            if (waiting.Count >= maxQueuedRequests + freeRows)
                throw new DbrxBusyException($"The DBRX generator is busy: {waiting.Count} requests are already waiting (MaxQueuedRequests = {maxQueuedRequests}). Retry later.");
            waiting.Enqueue(sequence);
        }
        wake.Release();
    }

    /// <summary>Takes the first waiting request if there is one and <paramref name="take"/> accepts it.</summary>
    public bool TryTake(Func<GenerationSequence, bool> take, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out GenerationSequence? next)
    {
        lock (waiting)
        {
            if (!waiting.TryPeek(out next) || !take(next))
                return false;
            waiting.Dequeue();
            return true;
        }
    }

    /// <summary>Blocks the worker until a request is added or the generator stops; false when it stops with none waiting.</summary>
    public bool WaitForRequests()
    {
        lock (waiting)
        {
            if (waiting.Count > 0)
                return true;
            if (stopping)
                return false;
        }
        wake.Wait();
        return true;
    }

    /// <summary>Starts stopping and wakes the worker; false when already stopping.</summary>
    public bool Stop()
    {
        lock (waiting)
        {
            if (stopping)
                return false;
            stopping = true;
        }
        wake.Release();
        return true;
    }

    public void Dispose() => wake.Dispose();
}
