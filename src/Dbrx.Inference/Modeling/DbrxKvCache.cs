using Dbrx.Inference.Configuration;
using static TorchSharp.torch;

namespace Dbrx.Inference.Modeling;

/// <summary>
/// A static key/value cache: per block, keys and values of shape <c>[rows, kv_heads, capacity, head_dim]</c>,
/// allocated once and written in place (never grown by concatenation). A forward pass over the first B rows writes each
/// row's new tokens at the positions it is given and attends over the keys before them, so rows of different lengths
/// decode together. <see cref="Lengths"/> records how many positions of each row hold a sequence; the caller that ran
/// the pass commits them (<see cref="SetLength"/>), a forward pass never changes them.
/// </summary>
/// <remarks>Keys are stored after the rotary embedding and before grouped-query expansion, as in the reference.</remarks>
public sealed class DbrxKvCache : IDisposable
{
    private readonly Tensor[] keys;
    private readonly Tensor[] values;
    private readonly long[] lengths;
    private readonly int firstRow;

    /// <summary>Allocates the cache.</summary>
    /// <param name="config">The model's configuration.</param>
    /// <param name="rows">How many sequences the cache holds.</param>
    /// <param name="capacity">Tokens per sequence; at most <see cref="DbrxConfig.MaxSeqLen"/>.</param>
    /// <param name="dtype">The model's dtype.</param>
    /// <param name="device">The device of the blocks (one device for every block).</param>
    internal DbrxKvCache(DbrxConfig config, int rows, int capacity, ScalarType dtype, Device device)
        : this(config, rows, capacity, dtype, Enumerable.Repeat(device, config.NLayers).ToArray())
    {
    }

    /// <summary>Allocates the cache with each block's keys and values on that block's device.</summary>
    internal DbrxKvCache(DbrxConfig config, int rows, int capacity, ScalarType dtype, IReadOnlyList<Device> blockDevices)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(rows);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(capacity);
        if (capacity > config.MaxSeqLen)
            throw new ArgumentOutOfRangeException(nameof(capacity), capacity, $"The cache capacity cannot exceed the model's max_seq_len ({config.MaxSeqLen}).");
        if (blockDevices.Count != config.NLayers)
            throw new ArgumentException($"Expected {config.NLayers} block devices, got {blockDevices.Count}.", nameof(blockDevices));
        Rows = rows;
        Capacity = capacity;
        keys = new Tensor[config.NLayers];
        values = new Tensor[config.NLayers];
        lengths = new long[rows];
        for (int layer = 0; layer < config.NLayers; layer++)
        {
            long[] shape = [rows, config.Attention.KvNHeads, capacity, config.HeadDim];
            keys[layer] = zeros(shape, dtype, blockDevices[layer]).DetachFromDisposeScope();
            values[layer] = zeros(shape, dtype, blockDevices[layer]).DetachFromDisposeScope();
        }
    }

    private DbrxKvCache(DbrxKvCache parent, int start, int count)
    {
        Rows = count;
        Capacity = parent.Capacity;
        firstRow = parent.firstRow + start;
        lengths = parent.lengths;
        keys = parent.keys.Select(k => k.narrow(0, start, count).DetachFromDisposeScope()).ToArray();
        values = parent.values.Select(v => v.narrow(0, start, count).DetachFromDisposeScope()).ToArray();
    }

    /// <summary>
    /// A view of rows <paramref name="start"/>.. that shares this cache's memory and lengths, so one sequence can be
    /// prefilled into its own row while the others wait. Disposing the view frees nothing.
    /// </summary>
    internal DbrxKvCache Slice(int start, int count)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(start);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(count);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(start + count, Rows);
        return new DbrxKvCache(this, start, count);
    }

    /// <summary>Sequences the cache holds.</summary>
    public int Rows { get; }

    /// <summary>Tokens each sequence can hold.</summary>
    public int Capacity { get; }

    /// <summary>Tokens stored for each row.</summary>
    public IReadOnlyList<long> Lengths => new ArraySegment<long>(lengths, firstRow, Rows);

    /// <summary>Bytes the cache (or this slice of it) occupies.</summary>
    public long ByteSize => keys.Sum(k => k.NumberOfElements * k.ElementSize) * 2;

    /// <summary>Forgets a row's tokens so the row can hold a new sequence (its memory is reused, not freed).</summary>
    public void Reset(int row) => lengths[firstRow + row] = 0;

    /// <summary>Forgets every row's tokens.</summary>
    public void Reset() => Array.Clear(lengths, firstRow, Rows);

    /// <summary>
    /// Sets how many of a row's positions hold its sequence: committed by whoever ran a forward pass over it (the pass
    /// writes keys and values, never lengths), or lowered to drop tokens (a padded prefill, a rejected draft).
    /// </summary>
    public void SetLength(int row, long length)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(length, Capacity);
        lengths[firstRow + row] = length;
    }

    /// <summary>
    /// Moves row <paramref name="from"/>'s keys, values and length into row <paramref name="to"/>, so active
    /// sequences can be kept in the first rows (a forward pass runs over rows 0..B-1 as a view, without copies).
    /// </summary>
    internal void MoveRow(int from, int to)
    {
        if (from == to)
            return;
        CopyPrefix(from, to, lengths[firstRow + from]);
        lengths[firstRow + from] = 0;
    }

    /// <summary>
    /// Copies the first <paramref name="length"/> positions of row <paramref name="from"/> into row <paramref name="to"/>
    /// and gives <paramref name="to"/> that length; <paramref name="from"/> is unchanged. A sequence that starts with the
    /// same tokens as another can continue from there instead of computing those positions again.
    /// </summary>
    internal void CopyPrefix(int from, int to, long length)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(length, lengths[firstRow + from]);
        if (from != to)
        {
            // Inference mode, as in the forward pass: a cache allocated inside it holds inference tensors, which may
            // only be updated in place inside it.
            using (inference_mode())
            {
                foreach (Tensor[] store in new[] { keys, values })
                {
                    foreach (Tensor layer in store)
                    {
                        // Named rows: a row that were only the receiver of narrow() could be finalized during it.
                        using var targetRow = layer[to];
                        using var sourceRow = layer[from];
                        using var target = targetRow.narrow(1, 0, length);
                        using var source = sourceRow.narrow(1, 0, length);
                        target.copy_(source);
                    }
                }
            }
        }
        lengths[firstRow + to] = length;
    }

    /// <summary>
    /// Views of <paramref name="count"/> positions from <paramref name="start"/> of a row's keys and values in one
    /// block (<c>[kv_heads, count, head_dim]</c> each), for copying a prefix block out of or into the row; the caller
    /// disposes them. Lengths are not changed.
    /// </summary>
    internal (Tensor Keys, Tensor Values) Positions(int layer, int row, long start, long count)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThan(start + count, Capacity);
        using var keyRow = keys[layer][row];
        using var valueRow = values[layer][row];
        return (keyRow.narrow(1, start, count), valueRow.narrow(1, start, count));
    }

    /// <summary>Checks that <paramref name="tokens"/> tokens from row <c>b</c>'s <paramref name="start"/>[b] fit each of the first rows.</summary>
    internal void EnsureRoom(IReadOnlyList<long> start, long tokens)
    {
        if (start.Count > Rows)
            throw new ArgumentException($"The batch has {start.Count} rows but the KV cache holds {Rows}.");
        for (int row = 0; row < start.Count; row++)
        {
            if (start[row] + tokens > Capacity)
                throw new InvalidOperationException($"KV cache row {firstRow + row}: {tokens} tokens from position {start[row]} would exceed its capacity of {Capacity}.");
        }
    }

    /// <summary>
    /// Writes a block's new keys and values (<c>[B, kv_heads, T, head_dim]</c>) at <paramref name="positions"/>
    /// (<c>[B, T]</c>; one slice from <paramref name="alignedStart"/> when every row starts there) and returns views of
    /// the first B rows over <paramref name="keyLength"/> positions for attention. Lengths are the caller's to commit.
    /// </summary>
    internal (Tensor Keys, Tensor Values) Write(int layer, Tensor newKeys, Tensor newValues, Tensor positions, long? alignedStart, long keyLength)
    {
        long batch = newKeys.shape[0], tokens = newKeys.shape[2];
        using var rowsK = keys[layer].narrow(0, 0, batch);
        using var rowsV = values[layer].narrow(0, 0, batch);
        if (alignedStart is { } slot)
        {
            using var slotK = rowsK.narrow(2, slot, tokens);
            using var slotV = rowsV.narrow(2, slot, tokens);
            slotK.copy_(newKeys);
            slotV.copy_(newValues);
        }
        else
        {
            using var index = positions.view(batch, 1, tokens, 1).expand(newKeys.shape);
            rowsK.scatter_(2, index, newKeys);
            rowsV.scatter_(2, index, newValues);
        }
        return (rowsK.narrow(2, 0, keyLength), rowsV.narrow(2, 0, keyLength));
    }

    /// <summary>Frees the cache's memory (a <see cref="Slice"/> only releases its views).</summary>
    public void Dispose()
    {
        foreach (var t in keys.Concat(values))
            t.Dispose();
    }
}
