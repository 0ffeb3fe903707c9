namespace Dbrx.ConstrainedDecoding;

/// <summary>
/// What one frame allows on its own, whatever its parent (XGrammar's context-independent tokens): the tokens that
/// stay inside it, and the trie nodes where it completes (<see cref="Exits"/>), from which the rest of a token
/// belongs to the parent and is checked there. Where it completes before a token's first byte (a number ends), the
/// parent's own mask decides all tokens starting with that byte: <see cref="ExitsBeforeFirstByte"/> holds those
/// tokens by exit. Shared by every state whose top frame this is.
/// </summary>
internal sealed class LocalMask(CachedMask inside, List<(int Node, ExitFrame Exit)> exits, Dictionary<ExitFrame, ulong[]> exitsBeforeFirstByte)
{
    /// <summary>Tokens that stay inside the frame, and the most bytes they leave to complete it.</summary>
    public CachedMask Inside { get; } = inside;

    /// <summary>Trie nodes (below the first byte) at which the frame completes, with how.</summary>
    public List<(int Node, ExitFrame Exit)> Exits { get; } = exits;

    /// <summary>Exits before a token's first byte: the tokens the parent's mask decides.</summary>
    public Dictionary<ExitFrame, ulong[]> ExitsBeforeFirstByte { get; } = exitsBeforeFirstByte;

    /// <summary>Bytes held (the token sets of <see cref="ExitsBeforeFirstByte"/> are the trie's, shared).</summary>
    public int Size => Inside.Size + Exits.Count * 16 + ExitsBeforeFirstByte.Count * 16;
}
