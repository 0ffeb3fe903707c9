namespace Dbrx.Inference.Generation.PrefixCache;

/// <summary>Where one block of a cached prefix is: its tier and its slot there.</summary>
internal readonly record struct PrefixBlockLocation(DbrxKvCacheMedium Tier, int Slot);
