using System.Diagnostics;

namespace Dbrx.ConstrainedDecoding;

/// <summary>
/// What compiling one schema may spend: character-automaton states (all automata the schema needs together) and
/// time, and it stops when the request is cancelled. A schema is a client's input, and its patterns can describe
/// automata of exponential size (<c>(a|b)*a(a|b){14}</c> alone needs 32,768 states): without a budget, one request
/// could keep a core busy for minutes after its client has gone. Counted where every automaton is built
/// (<see cref="CharDfa.Explore"/>); what the states cost in memory is counted too, for the cache that keeps them.
/// </summary>
internal sealed class SchemaCompileBudget
{
    /// <summary>States counted between checks of the clock and the cancellation token.</summary>
    private const int CheckEvery = 256;

    /// <summary>No limit (for the few fixed automata built once, such as "any string").</summary>
    public static SchemaCompileBudget Unlimited => new(int.MaxValue, long.MaxValue, Timeout.InfiniteTimeSpan, CancellationToken.None);

    private readonly Stopwatch clock = Stopwatch.StartNew();
    private readonly int maxStates;
    private readonly long maxBytes;
    private readonly TimeSpan maxTime;
    private readonly CancellationToken cancellationToken;
    private int sinceCheck;

    public SchemaCompileBudget(JsonConstraintOptions options, CancellationToken cancellationToken)
        : this(options.MaxSchemaStates, options.MaxSchemaBytes, options.MaxSchemaCompileTime, cancellationToken)
    {
    }

    private SchemaCompileBudget(int maxStates, long maxBytes, TimeSpan maxTime, CancellationToken cancellationToken)
    {
        this.maxStates = maxStates;
        this.maxBytes = maxBytes;
        this.maxTime = maxTime;
        this.cancellationToken = cancellationToken;
        cancellationToken.ThrowIfCancellationRequested();
    }

    /// <summary>Automaton states built so far.</summary>
    public int States { get; private set; }

    /// <summary>Memory of the automata built so far, in bytes (an estimate: their states and transitions).</summary>
    public long Bytes { get; private set; }

    /// <summary>Counts a new automaton state with its transitions.</summary>
    /// <exception cref="SchemaBudgetExceededException">The schema needs more states, or more time, than allowed.</exception>
    /// <exception cref="OperationCanceledException">The request was cancelled.</exception>
    public void AddState(int transitions)
    {
        States++;
        if (States > maxStates)
            throw new SchemaBudgetExceededException($"compiling it needs more than {maxStates:N0} automaton states (MaxSchemaStates)");
        AddBytes(CharDfa.BytesPerState + (long)transitions * CharDfa.BytesPerTransition);
        if (++sinceCheck >= CheckEvery)
            Check();
    }

    /// <summary>Counts memory a compilation builds beside its automata's states (a string's table of lengths).</summary>
    /// <exception cref="SchemaBudgetExceededException">The schema needs more memory than allowed.</exception>
    public void AddBytes(long bytes)
    {
        Bytes += bytes;
        if (Bytes > maxBytes)
            throw new SchemaBudgetExceededException($"compiling it needs more than {maxBytes / 1048576.0:0.#} MiB (MaxSchemaBytes)");
    }

    /// <summary>Counts a step of work that builds no state (a closure over many automaton states): checks now and then.</summary>
    public void Tick()
    {
        if (++sinceCheck >= CheckEvery * 16)
            Check();
    }

    /// <summary>Stops a compilation that was cancelled or has run out of time.</summary>
    public void Check()
    {
        sinceCheck = 0;
        cancellationToken.ThrowIfCancellationRequested();
        if (maxTime != Timeout.InfiniteTimeSpan && clock.Elapsed > maxTime)
            throw new SchemaBudgetExceededException($"compiling it takes longer than {maxTime.TotalSeconds:0.###} s (MaxSchemaCompileTime)");
    }
}
