namespace Dbrx.ConstrainedDecoding;

/// <summary>The kinds of <see cref="ConstraintCache"/> entries.</summary>
internal enum CacheKind
{
    /// <summary>A compiled grammar, by schema text (or tool set) and the options that shape it.</summary>
    Grammar,

    /// <summary>A pattern's automaton, by the pattern.</summary>
    Pattern,

    /// <summary>A number automaton, by its <see cref="NumberSpec"/>.</summary>
    Number,

    /// <summary>A property name's JSON literal, by the name (one array per name, so key frames compare equal).</summary>
    Key,

    /// <summary>A string node without an automaton, by its length bounds.</summary>
    LengthsOnlyString,
}
