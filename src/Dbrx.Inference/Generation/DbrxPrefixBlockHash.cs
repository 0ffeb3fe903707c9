using System.Buffers.Binary;
using System.IO.Hashing;

namespace Dbrx.Inference.Generation;

/// <summary>
/// A block's identity: a chained hash of its tokens and its parent block's hash (the scheme of vLLM's prefix caching
/// and llm-d's indexer), so a block stands for its whole prefix. XxHash64; the index keeps each block's tokens and
/// parent too and compares them, so a collision is a miss, never a wrong answer. Public so that a router can compute
/// the identities the engine reports in its <see cref="DbrxKvCacheEvent"/>s from a prompt's tokens.
/// </summary>
public static class DbrxPrefixBlockHash
{
    /// <summary>The parent hash of a sequence's first block.</summary>
    public const ulong Root = 0;

    /// <summary>The hash of the block of <paramref name="tokens"/> after the block whose hash is <paramref name="parent"/>.</summary>
    public static ulong Of(ulong parent, ReadOnlySpan<int> tokens)
    {
        var hash = new XxHash64();
        Span<byte> bytes = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, parent);
        hash.Append(bytes);
        foreach (int token in tokens)
        {
            BinaryPrimitives.WriteInt32LittleEndian(bytes, token);
            hash.Append(bytes[..4]);
        }
        return hash.GetCurrentHashAsUInt64();
    }

    /// <summary>
    /// The hashes of the whole blocks of <paramref name="blockTokens"/> tokens that <paramref name="tokens"/> starts
    /// with, each chained to the one before from <see cref="Root"/>: what the engine's prefix cache names them. A last
    /// partial block has no identity and is left out.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="blockTokens"/> is less than 1.</exception>
    public static ulong[] Chain(ReadOnlySpan<int> tokens, int blockTokens)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(blockTokens, 1);
        var hashes = new ulong[tokens.Length / blockTokens];
        ulong parent = Root;
        for (int i = 0; i < hashes.Length; i++)
            hashes[i] = parent = Of(parent, tokens.Slice(i * blockTokens, blockTokens));
        return hashes;
    }
}
