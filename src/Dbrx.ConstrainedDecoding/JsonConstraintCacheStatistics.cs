namespace Dbrx.ConstrainedDecoding;

/// <summary>What a <see cref="JsonConstraintCompiler"/>'s cache holds and has done since it was created.</summary>
/// <param name="Hits">Lookups answered from the cache: compiled schemas, pattern and number automata, key literals.</param>
/// <param name="Misses">Lookups that had to build what they asked for.</param>
/// <param name="Evictions">Entries dropped to stay within <see cref="JsonConstraintOptions.CacheBytes"/>.</param>
/// <param name="Bytes">Memory the cache holds now, in bytes (an estimate), shared token masks included.</param>
/// <param name="Entries">Entries it holds now.</param>
public readonly record struct JsonConstraintCacheStatistics(long Hits, long Misses, long Evictions, long Bytes, int Entries);
