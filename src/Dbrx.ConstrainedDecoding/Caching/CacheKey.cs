namespace Dbrx.ConstrainedDecoding;

/// <summary>What a <see cref="ConstraintCache"/> entry is: its kind, and its identity within the kind.</summary>
internal readonly record struct CacheKey(CacheKind Kind, object Identity);
