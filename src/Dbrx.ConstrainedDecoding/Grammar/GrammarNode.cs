namespace Dbrx.ConstrainedDecoding;

/// <summary>
/// A compiled schema: the values one position of the output allows, as compact JSON bytes. Nodes form a graph
/// (recursive schemas point back through <see cref="ChoiceNode"/>s). <see cref="MinBytes"/> is the length of the
/// shortest value the node allows (<see cref="Never"/> when it allows none, which stepping then never enters), found
/// by a fixed point over the graph once it is built (<see cref="GrammarLengths"/>).
/// </summary>
internal abstract class GrammarNode
{
    /// <summary>Stands for "no value" (or not known yet): small enough to add to without overflow.</summary>
    public const int Never = int.MaxValue / 4;

    /// <summary>Bytes of the shortest value (filled in once the graph is complete).</summary>
    public int MinBytes { get; set; } = Never;

    /// <summary>Whether some value is allowed.</summary>
    public bool IsPossible => MinBytes < Never;

    /// <summary>The shortest length from the children's current estimates; iterated to a fixed point.</summary>
    public abstract int ComputeMinBytes();

    /// <summary>Appends the shortest value (once <see cref="MinBytes"/> is final).</summary>
    public abstract void AppendShortest(List<byte> output);

    /// <summary>The nodes this one refers to.</summary>
    public abstract IEnumerable<GrammarNode> Children { get; }

    private ByteSet? firstBytes;
    private bool computingFirstBytes;

    /// <summary>The bytes a value may start with (a superset: walks skip the other bytes without stepping).</summary>
    public ByteSet FirstBytes
    {
        get
        {
            if (firstBytes is { } known)
                return known;
            // A choice that reaches itself before any byte: be conservative.
            if (computingFirstBytes)
                return ByteSet.All;
            computingFirstBytes = true;
            ByteSet computed = ComputeFirstBytes();
            computingFirstBytes = false;
            firstBytes = computed;
            return computed;
        }
    }

    protected abstract ByteSet ComputeFirstBytes();

    protected static int Saturate(long value) => (int)Math.Min(value, Never);
}
