namespace Dbrx.ConstrainedDecoding;

/// <summary>
/// What a <see cref="JsonConstraintCompiler"/> keeps between requests (compiled grammars, pattern and number automata,
/// key literals, shared string nodes), within a budget of bytes; the least recently used entry goes first. Sizes are
/// estimates each kind gives for itself. Compiled grammars grow while requests use them (states, masks) and report it
/// (<see cref="Refresh"/>), so the cache stays within its budget while they are in use; a grammar past its own limit
/// is dropped, so the next request starts a fresh one. An entry in use when it is dropped stays with its users.
/// Thread-safe; what is built is built outside the lock (compiling can take seconds), and when two requests build the
/// same entry at once, the first one stored is kept.
/// </summary>
/// <param name="capacity">The budget in bytes.</param>
/// <param name="outsideBytes">Bytes held beside the entries that count against the budget (the shared frame masks).</param>
/// <param name="trimOutside">Frees what <paramref name="outsideBytes"/> counts when dropping every entry was not enough.</param>
internal sealed class ConstraintCache(long capacity, Func<long> outsideBytes, Action trimOutside)
{
    private readonly Lock gate = new();
    private readonly Dictionary<CacheKey, LinkedListNode<Entry>> entries = [];
    private readonly LinkedList<Entry> recency = [];   // first: most recently used
    private long bytes, hits, misses, evictions;

    /// <summary>The value under <paramref name="key"/>, built by <paramref name="create"/> on a miss.</summary>
    /// <param name="key">The kind of entry and its identity.</param>
    /// <param name="create">Builds the value (outside the lock; its exceptions are the caller's, nothing is stored).</param>
    /// <param name="size">The value's size in bytes now (asked again on <see cref="Refresh"/>).</param>
    /// <param name="expired">Whether the value should be dropped at the next refresh whatever its recency.</param>
    public T GetOrAdd<T>(CacheKey key, Func<T> create, Func<T, long> size, Func<T, bool>? expired = null) where T : class
    {
        lock (gate)
        {
            if (entries.TryGetValue(key, out LinkedListNode<Entry>? known))
            {
                hits++;
                Touch(known);
                return (T)known.Value.Value;
            }
            misses++;
        }
        T value = create();
        lock (gate)
        {
            if (entries.TryGetValue(key, out LinkedListNode<Entry>? first))
            {
                Touch(first);
                return (T)first.Value.Value;
            }
            var entry = new Entry(key, value, v => size((T)v), expired is null ? null : v => expired((T)v));
            entry.Bytes = entry.Size(value);
            entries[key] = recency.AddFirst(entry);
            bytes += entry.Bytes;
            Trim();
        }
        return value;
    }

    /// <summary>Measures every entry again and drops the expired ones and, least recent first, any beyond the budget.</summary>
    public void Refresh()
    {
        lock (gate)
        {
            bytes = 0;
            for (LinkedListNode<Entry>? node = recency.First; node is not null;)
            {
                LinkedListNode<Entry>? next = node.Next;
                Entry entry = node.Value;
                if (entry.Expired?.Invoke(entry.Value) == true)
                {
                    Remove(node);
                }
                else
                {
                    entry.Bytes = entry.Size(entry.Value);
                    bytes += entry.Bytes;
                }
                node = next;
            }
            Trim();
        }
    }

    /// <summary>What the cache holds now (measured again, and trimmed, first) and has done.</summary>
    public JsonConstraintCacheStatistics Statistics
    {
        get
        {
            lock (gate)
            {
                Refresh();
                return new JsonConstraintCacheStatistics(hits, misses, evictions, bytes + outsideBytes(), entries.Count);
            }
        }
    }

    private void Touch(LinkedListNode<Entry> node)
    {
        recency.Remove(node);
        recency.AddFirst(node);
    }

    private void Trim()
    {
        while (bytes + outsideBytes() > capacity && recency.Last is { } oldest)
        {
            bytes -= oldest.Value.Bytes;
            Remove(oldest);
        }
        if (bytes + outsideBytes() > capacity)
            trimOutside();
    }

    private void Remove(LinkedListNode<Entry> node)
    {
        recency.Remove(node);
        entries.Remove(node.Value.Key);
        evictions++;
    }

    private sealed class Entry(CacheKey key, object value, Func<object, long> size, Func<object, bool>? expired)
    {
        public CacheKey Key { get; } = key;

        public object Value { get; } = value;

        public Func<object, long> Size { get; } = size;

        public Func<object, bool>? Expired { get; } = expired;

        /// <summary>The size when last measured.</summary>
        public long Bytes { get; set; }
    }
}
