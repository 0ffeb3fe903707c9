namespace Dbrx.ConstrainedDecoding;

/// <summary>A number, by the automaton of its text (<see cref="NumberAutomaton"/>).</summary>
internal sealed class NumberNode(CharDfa dfa) : GrammarNode
{
    public CharDfa Dfa { get; } = dfa;

    public override IEnumerable<GrammarNode> Children => [];

    public override int ComputeMinBytes() => Dfa.Start < 0 ? Never : Dfa.CompletionBytes(Dfa.Start);

    protected override ByteSet ComputeFirstBytes() => NextBytes(Dfa.Start);

    /// <summary>The bytes that continue the number from a state of its automaton.</summary>
    public ByteSet NextBytes(int state)
    {
        var set = new ByteSet();
        foreach (var (lo, hi, _) in Dfa.Transitions(state))
            set.AddRange(lo, hi);
        return set;
    }

    public override void AppendShortest(List<byte> output)
    {
        for (int state = Dfa.Start; !Dfa.IsAccepting(state);)
        {
            var (b, next) = Dfa.ShortestStep(state);
            output.Add((byte)b);
            state = next;
        }
    }
}
