namespace Dbrx.Gateway;

/// <summary>A request's prompt as prefix-cache block hashes, put on the request before a replica is chosen.</summary>
internal sealed record PromptBlocksFeature(IReadOnlyList<ulong> Blocks);
