namespace Dbrx.ConstrainedDecoding;

/// <summary>
/// What JSON-schema constrained decoding (<see cref="JsonConstraintCompiler"/>) may spend: memory for what it keeps
/// between requests, and work and memory to compile one schema. A schema is a client's input, so each is bounded; a
/// schema over a compile limit is refused with a <see cref="JsonSchemaException"/> that names the limit, the keyword
/// and its path.
/// </summary>
public sealed record JsonConstraintOptions
{
    /// <summary>
    /// Memory kept for reuse, in bytes: compiled schemas with their recognizer states and token masks, and the
    /// automata of patterns and numbers. The least recently used go first. Default 256 MiB.
    /// </summary>
    public long CacheBytes { get; init; } = 256L << 20;

    /// <summary>
    /// The most memory one compiled schema may hold in recognizer states and token masks while requests use it, in
    /// bytes; beyond it, masks are computed again instead of kept, and the schema is compiled afresh for the next
    /// request. Default 64 MiB.
    /// </summary>
    public long MaxGrammarBytes { get; init; } = 64L << 20;

    /// <summary>
    /// Character-automaton states one schema may need, all its patterns, formats, numbers and key rules together.
    /// Default 200,000 (the MaskBench schemas need at most a fraction of it).
    /// </summary>
    public int MaxSchemaStates { get; init; } = 200_000;

    /// <summary>Memory one schema's compilation may build (its automata and length tables), in bytes. Default 64 MiB.</summary>
    public long MaxSchemaBytes { get; init; } = 64L << 20;

    /// <summary>How long one schema may take to compile. Default 10 seconds.</summary>
    public TimeSpan MaxSchemaCompileTime { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Throws <see cref="ArgumentException"/> naming the first option out of range.</summary>
    public void Validate()
    {
        if (CacheBytes < 0)
            throw new ArgumentException($"CacheBytes must be 0 or more, not {CacheBytes}.");
        if (MaxGrammarBytes < 1 << 20)
            throw new ArgumentException($"MaxGrammarBytes must be at least 1 MiB ({1 << 20}), not {MaxGrammarBytes}.");
        if (MaxSchemaStates < 1000)
            throw new ArgumentException($"MaxSchemaStates must be at least 1000, not {MaxSchemaStates}.");
        if (MaxSchemaBytes < 1 << 20)
            throw new ArgumentException($"MaxSchemaBytes must be at least 1 MiB ({1 << 20}), not {MaxSchemaBytes}.");
        if (MaxSchemaCompileTime <= TimeSpan.Zero)
            throw new ArgumentException($"MaxSchemaCompileTime must be positive, not {MaxSchemaCompileTime}.");
    }
}
