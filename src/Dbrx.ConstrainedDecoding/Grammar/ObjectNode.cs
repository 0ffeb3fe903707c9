namespace Dbrx.ConstrainedDecoding;

/// <summary>
/// An object. Declared properties are written in declaration order (optional ones may be left out, required ones
/// never), which makes "required" a guarantee; required names the schema does not declare come after them. Then,
/// where the schema allows them, undeclared properties: any key <see cref="ExtraKeys"/> accepts (never a declared
/// name), with the value schema its accepting state names. <see cref="MinProperties"/> is met with optional declared
/// properties (the compiler refuses schemas that would need undeclared ones).
/// </summary>
internal sealed class ObjectNode(IReadOnlyList<ObjectProperty> properties, int minProperties, int? maxProperties) : GrammarNode
{
    public IReadOnlyList<ObjectProperty> Properties { get; } = properties;

    /// <summary>The automaton of undeclared keys (with their value schemas), or null when none may be written.</summary>
    public StringNode? ExtraKeys { get; set; }

    public int MinProperties { get; } = minProperties;

    public int? MaxProperties { get; } = maxProperties;

    /// <summary>Property counts at or above this behave alike.</summary>
    public int CountCap => Math.Max(MinProperties, MaxProperties ?? 0);

    public override IEnumerable<GrammarNode> Children =>
        Properties.Select(p => p.Value).Concat(ExtraKeys is null ? [] : [ExtraKeys]);

    private bool Full(int count) => count >= MaxProperties;

    /// <summary>The declared properties that may be written next: from <paramref name="next"/> up to the first required one.</summary>
    public IEnumerable<int> Candidates(int next, int count)
    {
        if (Full(count))
            yield break;
        for (int i = next; i < Properties.Count; i++)
        {
            // With minProperties, a property is only a candidate if enough can still follow it.
            if (Properties[i].Value.IsPossible && (MinProperties == 0 || ShortestSet(i + 1, Math.Min(count + 1, CountCap)) is not null))
                yield return i;
            if (Properties[i].Required)
                yield break;
        }
    }

    /// <summary>Whether a required declared property remains at or after <paramref name="next"/>.</summary>
    public bool RequiredRemain(int next)
    {
        for (int i = next; i < Properties.Count; i++)
        {
            if (Properties[i].Required)
                return true;
        }
        return false;
    }

    /// <summary>
    /// Whether an undeclared property may be written now: after all required declared ones, and only once it would
    /// bring the count to <see cref="MinProperties"/> (declared properties, which can no longer follow, meet it otherwise).
    /// </summary>
    public bool ExtrasAllowed(int next, int count) =>
        ExtraKeys is { IsPossible: true } && !RequiredRemain(next) && !Full(count) && count + 1 >= MinProperties;

    /// <summary>Whether the object may close here.</summary>
    public bool CanClose(int next, int count) => !RequiredRemain(next) && OptionalNeeded(next, count) == 0;

    /// <summary>Optional properties still to write to reach <see cref="MinProperties"/>, beyond the required ones.</summary>
    private int OptionalNeeded(int next, int count)
    {
        if (MinProperties <= count)
            return 0;
        int required = Enumerable.Range(next, Properties.Count - next).Count(i => Properties[i].Required);
        return Math.Max(0, MinProperties - count - required);
    }

    /// <summary>
    /// The properties a shortest completion writes from <paramref name="next"/> on: the required ones, and the
    /// cheapest optional ones <see cref="MinProperties"/> asks for; null when that cannot be done.
    /// </summary>
    private List<int>? ShortestSet(int next, int count)
    {
        var chosen = Enumerable.Range(next, Properties.Count - next).Where(i => Properties[i].Required).ToList();
        int needed = OptionalNeeded(next, count);
        if (needed > 0)
        {
            var optional = Enumerable.Range(next, Properties.Count - next)
                .Where(i => !Properties[i].Required && Properties[i].Value.IsPossible)
                .OrderBy(i => Properties[i].MinBytes).ThenBy(i => i).Take(needed).ToList();
            if (optional.Count < needed)
                return null;
            chosen.AddRange(optional);
            chosen.Sort();
        }
        return chosen;
    }

    /// <summary>
    /// Bytes that close the object at the least when the next property would be number <paramref name="next"/>
    /// (after a comma unless <paramref name="first"/>), <paramref name="count"/> properties written so far.
    /// </summary>
    public int RestAfter(int next, bool first, int count)
    {
        if (ShortestSet(next, count) is not { } chosen)
            return Never;
        long total = 1;
        foreach (int i in chosen)
            total += Properties[i].MinBytes + (first && i == chosen[0] ? 0 : 1);
        return Saturate(total);
    }

    public void AppendRest(int next, bool first, int count, List<byte> output)
    {
        var chosen = ShortestSet(next, count)!;
        foreach (int i in chosen)
        {
            if (!(first && i == chosen[0]))
                output.Add((byte)',');
            AppendProperty(i, output);
        }
        output.Add((byte)'}');
    }

    private void AppendProperty(int i, List<byte> output)
    {
        output.AddRange(Properties[i].Key);
        output.Add((byte)':');
        Properties[i].Value.AppendShortest(output);
    }

    /// <summary>Bytes of the shortest undeclared property (key, colon, value).</summary>
    public int ExtraPropertyBytes => ExtraKeys is { Dfa: { } dfa } keys && keys.IsPossible
        ? Saturate(keys.MinBytes + 1L + keys.KeyValues![ShortestKeyEnd(dfa)]!.MinBytes)
        : Never;

    private static int ShortestKeyEnd(CharDfa dfa)
    {
        int state = dfa.Start;
        while (!dfa.IsAccepting(state))
            state = dfa.ShortestStep(state).Next;
        return state;
    }

    /// <summary>Bytes to close after a comma: one more property must come, then the rest.</summary>
    public int RestAfterComma(int next, int count)
    {
        long best = Never;
        foreach (int i in Candidates(next, count))
            best = Math.Min(best, Properties[i].MinBytes + (long)RestAfter(i + 1, first: false, count + 1));
        if (ExtrasAllowed(next, count))
            best = Math.Min(best, ExtraPropertyBytes + (long)RestAfter(Properties.Count, first: false, count + 1));
        return Saturate(best);
    }

    public void AppendRestAfterComma(int next, int count, List<byte> output)
    {
        int cost = RestAfterComma(next, count);
        foreach (int i in Candidates(next, count))
        {
            if (Properties[i].MinBytes + (long)RestAfter(i + 1, first: false, count + 1) == cost)
            {
                AppendProperty(i, output);
                AppendRest(i + 1, first: false, count + 1, output);
                return;
            }
        }
        var keys = ExtraKeys!;
        keys.AppendShortest(output);
        output.Add((byte)':');
        keys.KeyValues![ShortestKeyEnd(keys.Dfa!)]!.AppendShortest(output);
        AppendRest(Properties.Count, first: false, count + 1, output);
    }

    public override int ComputeMinBytes() => Saturate(1L + RestAfter(0, first: true, 0));

    protected override ByteSet ComputeFirstBytes() => ByteSet.Of('{');

    public override void AppendShortest(List<byte> output)
    {
        output.Add((byte)'{');
        AppendRest(0, first: true, 0, output);
    }
}
