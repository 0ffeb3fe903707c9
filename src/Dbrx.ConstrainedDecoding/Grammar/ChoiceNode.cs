namespace Dbrx.ConstrainedDecoding;

/// <summary>One of several nodes: anyOf, a type list, an exclusive oneOf, or a placeholder for a recursive reference.</summary>
internal sealed class ChoiceNode : GrammarNode
{
    public List<GrammarNode> Options { get; } = [];

    public override IEnumerable<GrammarNode> Children => Options;

    public override int ComputeMinBytes() => Options.Count == 0 ? Never : Options.Min(o => o.MinBytes);

    public override void AppendShortest(List<byte> output) => Options.First(o => o.MinBytes == MinBytes).AppendShortest(output);

    protected override ByteSet ComputeFirstBytes()
    {
        var set = new ByteSet();
        foreach (GrammarNode option in Options)
        {
            if (option.IsPossible)
                set.UnionWith(option.FirstBytes);
        }
        return set;
    }
}
