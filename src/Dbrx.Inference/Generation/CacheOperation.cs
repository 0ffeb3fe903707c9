using Dbrx.Inference.Modeling;

namespace Dbrx.Inference.Generation;

/// <summary>
/// A change to the KV cache's rows that <see cref="CacheRowPlan{TRequest}"/> asks for. The plan decides; the generator
/// applies the operations, in the order given, to its <see cref="DbrxKvCache"/>.
/// </summary>
internal abstract record CacheOperation
{
    /// <summary>Copy row <paramref name="From"/>'s first <paramref name="Length"/> positions into row <paramref name="To"/>, which then holds that many.</summary>
    public sealed record CopyPrefix(int From, int To, long Length) : CacheOperation;

    /// <summary>Move row <paramref name="From"/>'s positions and length into row <paramref name="To"/>; <paramref name="From"/> is left empty.</summary>
    public sealed record MoveRow(int From, int To) : CacheOperation;

    /// <summary>Empty a row.</summary>
    public sealed record ResetRow(int Row) : CacheOperation;

    /// <summary>Commit how many positions of a row hold its sequence (a forward pass wrote them, or fewer: padding dropped).</summary>
    public sealed record SetLength(int Row, long Length) : CacheOperation;

    /// <summary>Applies <paramref name="operations"/> to <paramref name="cache"/>, in order.</summary>
    public static void Apply(IEnumerable<CacheOperation> operations, DbrxKvCache cache)
    {
        foreach (CacheOperation operation in operations)
        {
            switch (operation)
            {
                case CopyPrefix copy:
                    cache.CopyPrefix(copy.From, copy.To, copy.Length);
                    break;
                case MoveRow move:
                    cache.MoveRow(move.From, move.To);
                    break;
                case ResetRow reset:
                    cache.Reset(reset.Row);
                    break;
                case SetLength set:
                    cache.SetLength(set.Row, set.Length);
                    break;
                default:
                    throw new ArgumentException($"Unknown cache operation {operation}.", nameof(operations));
            }
        }
    }
}
