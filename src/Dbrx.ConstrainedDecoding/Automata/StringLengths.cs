using System.Collections;

namespace Dbrx.ConstrainedDecoding;

/// <summary>
/// Length bounds beside a string's character automaton (rather than multiplied into it, which for a format with a
/// maxLength of a few hundred would make a huge automaton): for each automaton state, the numbers of characters in
/// which acceptance can be reached, up to the bound that matters (<see cref="Top"/>; without a maximum, "at least the
/// minimum" is one entry). A string at state q with c characters can still be finished when one of those lengths
/// puts it within [minLength, maxLength].
/// </summary>
internal sealed class StringLengths
{
    private readonly CharDfa dfa;
    private readonly BitArray[] reach;

    /// <exception cref="SchemaBudgetExceededException">The table (states × lengths) is larger, or takes longer, than the budget allows.</exception>
    public StringLengths(CharDfa dfa, int minLength, int? maxLength, SchemaCompileBudget budget)
    {
        this.dfa = dfa;
        MinLength = minLength;
        MaxLength = maxLength;
        Top = maxLength ?? minLength;
        int n = dfa.StateCount;
        budget.AddBytes((long)n * ((Top + 8) / 8 + 32));
        reach = new BitArray[n];
        for (int s = 0; s < n; s++)
        {
            reach[s] = new BitArray(Top + 1);
            reach[s][0] = dfa.IsAccepting(s);
        }
        // Lengths grow by one per transition; without a maximum, everything from Top on is one entry.
        for (bool changed = true; changed;)
        {
            changed = false;
            for (int s = 0; s < n; s++)
            {
                budget.Tick();
                foreach (var (_, _, target) in dfa.Transitions(s))
                {
                    for (int l = 0; l <= Top; l++)
                    {
                        if (!reach[target][l])
                            continue;
                        int longer = l + 1;
                        if (longer > Top && MaxLength is null)
                            longer = Top;
                        if (longer <= Top && !reach[s][longer])
                        {
                            reach[s][longer] = true;
                            changed = true;
                        }
                    }
                }
            }
        }
    }

    public int MinLength { get; }

    public int? MaxLength { get; }

    /// <summary>Counts at or above this behave alike.</summary>
    public int Top { get; }

    /// <summary>The fewest characters that finish the string from state <paramref name="state"/> after <paramref name="count"/>, or −1.</summary>
    public int Remaining(int state, int count)
    {
        if (count > (MaxLength ?? int.MaxValue))
            return -1;
        for (int l = 0; l <= Top; l++)
        {
            if (!reach[state][l])
                continue;
            if (MaxLength is { } max ? count + l >= MinLength && count + l <= max : count + l >= MinLength || l == Top)
                return l;
        }
        return -1;
    }

    /// <summary>Whether the string can still be finished from the state after that many characters.</summary>
    public bool Viable(int state, int count) => Remaining(state, count) >= 0;

    /// <summary>Whether the string may end here.</summary>
    public bool Accepts(int state, int count) => dfa.IsAccepting(state) && count >= MinLength && count <= (MaxLength ?? int.MaxValue);

    /// <summary>The count after one more character (past the maximum it is no longer viable; without one, it stops at <see cref="Top"/>).</summary>
    public int Next(int count) => MaxLength is null ? Math.Min(count + 1, Top) : count + 1;

    /// <summary>The next character on a shortest way to a finish within the bounds, and the state after it.</summary>
    public (int CodePoint, int Next) ShortestStep(int state, int count)
    {
        // Without a maximum, once the automaton's own shortest way is long enough, it is the way.
        if (MaxLength is null && count + dfa.MinToAccept(state) >= MinLength)
            return dfa.ShortestStep(state);
        int remaining = Remaining(state, count);
        (int, int)? best = null;
        foreach (var (lo, hi, target) in dfa.Transitions(state))
        {
            if (Remaining(target, Next(count)) == remaining - 1 && (best is null || Better(CharDfa.PreferredIn(lo, hi), best.Value.Item1)))
                best = (CharDfa.PreferredIn(lo, hi), target);
        }
        return best ?? throw new InvalidOperationException("A string state that cannot be finished was entered.");
    }

    /// <summary>The character in [lo, hi] that leaves the fewest characters to a finish, with the state after it; null if none can finish.</summary>
    public (int CodePoint, int Next)? BestIn(int state, int count, int lo, int hi)
    {
        (int, int)? best = null;
        int fewest = int.MaxValue;
        foreach (var (elo, ehi, target) in dfa.Transitions(state))
        {
            int a = Math.Max(elo, lo), b = Math.Min(ehi, hi);
            if (a > b)
                continue;
            int remaining = Remaining(target, Next(count));
            if (remaining >= 0 && remaining < fewest)
            {
                best = (CharDfa.PreferredIn(a, b), target);
                fewest = remaining;
            }
        }
        return best;
    }

    /// <summary>Whether some character in [lo, hi] continues to a state that can still be finished.</summary>
    public bool AnyIn(int state, int count, int lo, int hi) => BestIn(state, count, lo, hi) is not null;

    private static bool Better(int candidate, int current) => candidate < 0x80 && (current >= 0x80 || char.IsAsciiLetter((char)candidate) && !char.IsAsciiLetter((char)current));
}
