namespace Dbrx.ConstrainedDecoding;

/// <summary>An array: <see cref="PrefixItems"/> first, then <see cref="Items"/> (null: no more), counted.</summary>
internal sealed class ArrayNode(IReadOnlyList<GrammarNode> prefixItems, GrammarNode? items, int minItems, int? maxItems) : GrammarNode
{
    public IReadOnlyList<GrammarNode> PrefixItems { get; } = prefixItems;

    public GrammarNode? Items { get; } = items;

    public int MinItems { get; } = minItems;

    /// <summary>The most items: maxItems, and the prefix length when nothing may follow it.</summary>
    public int? MaxItems { get; } = items is null ? Math.Min(maxItems ?? int.MaxValue, prefixItems.Count) : maxItems;

    /// <summary>Counts at or above this behave alike.</summary>
    public int CountCap => Math.Max(Math.Max(MinItems, PrefixItems.Count), MaxItems ?? 0);

    public override IEnumerable<GrammarNode> Children => Items is null ? PrefixItems : PrefixItems.Append(Items);

    /// <summary>The schema of item number <paramref name="index"/>, or null when no item may stand there.</summary>
    public GrammarNode? ItemAt(int index) => index < PrefixItems.Count ? PrefixItems[index] : Items;

    /// <summary>Whether another item may follow <paramref name="count"/> items.</summary>
    public bool CanAdd(int count) => (MaxItems is null || count < MaxItems) && ItemAt(count) is { IsPossible: true };

    /// <summary>Bytes that close the array after <paramref name="count"/> items at the least: the items still required, commas, the bracket.</summary>
    public int RestAfter(int count)
    {
        long total = 1;
        for (int i = count; i < MinItems; i++)
            total += (ItemAt(i)?.MinBytes ?? Never) + (i > 0 ? 1 : 0);
        return Saturate(total);
    }

    public void AppendRest(int count, List<byte> output)
    {
        for (int i = count; i < MinItems; i++)
        {
            if (i > 0)
                output.Add((byte)',');
            ItemAt(i)!.AppendShortest(output);
        }
        output.Add((byte)']');
    }

    public override int ComputeMinBytes() => MaxItems < MinItems ? Never : Saturate(1L + RestAfter(0));

    protected override ByteSet ComputeFirstBytes() => ByteSet.Of('[');

    public override void AppendShortest(List<byte> output)
    {
        output.Add((byte)'[');
        AppendRest(0, output);
    }
}
