namespace Dbrx.ConstrainedDecoding;

/// <summary>
/// A string. Its characters follow <see cref="Dfa"/> (patterns, format), or, when there is none, any characters;
/// <see cref="MinLength"/> to <see cref="MaxLength"/> of them, counted beside the automaton (<see cref="Lengths"/>)
/// or alone. Object keys that are not declared are strings too, whose automaton's accepting states say which value
/// schema follows (<see cref="KeyValues"/>).
/// </summary>
internal sealed class StringNode : GrammarNode
{
    /// <summary>A string node; its table of lengths (with an automaton and bounds) is counted against <paramref name="budget"/>.</summary>
    public StringNode(CharDfa? dfa, int minLength, int? maxLength, SchemaCompileBudget budget)
    {
        Dfa = dfa;
        MinLength = minLength;
        MaxLength = maxLength;
        if (dfa is not null && (minLength > 0 || maxLength is not null))
            Lengths = new StringLengths(dfa, minLength, maxLength, budget);
    }

    /// <summary>A string of any length over an automaton (an object's keys).</summary>
    public StringNode(CharDfa dfa)
        : this(dfa, 0, null, SchemaCompileBudget.Unlimited)
    {
    }

    public CharDfa? Dfa { get; }

    public int MinLength { get; }

    public int? MaxLength { get; }

    /// <summary>With an automaton and length bounds: which lengths each state can still reach.</summary>
    public StringLengths? Lengths { get; }

    /// <summary>Character counts at or above this behave alike (the bound that matters), so states stay few.</summary>
    public int CountCap => MaxLength ?? MinLength;

    /// <summary>For keys: the value node after each accepting state of <see cref="Dfa"/> (null elsewhere).</summary>
    public GrammarNode?[]? KeyValues { get; set; }

    public override IEnumerable<GrammarNode> Children => KeyValues?.OfType<GrammarNode>() ?? [];

    /// <summary>For keys: the longest shortest value any key calls for.</summary>
    public int MaxValueBytes => KeyValues?.Where(v => v is { IsPossible: true }).Select(v => v!.MinBytes).DefaultIfEmpty(0).Max() ?? 0;

    protected override ByteSet ComputeFirstBytes() => ByteSet.Of('"');

    public override int ComputeMinBytes()
    {
        if (MaxLength < MinLength || Dfa is { Start: < 0 } || Lengths is { } lengths && !lengths.Viable(Dfa!.Start, 0))
            return Never;
        var text = new List<byte>();
        AppendShortest(text);
        return text.Count;
    }

    public override void AppendShortest(List<byte> output)
    {
        output.Add((byte)'"');
        StringText.AppendRest(new StringFrame(this, Dfa?.Start ?? 0, 0, StringDecoder.Ready), output);
        output.Add((byte)'"');
    }
}
