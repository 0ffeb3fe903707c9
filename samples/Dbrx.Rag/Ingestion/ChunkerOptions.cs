namespace Dbrx.Rag.Ingestion;

/// <summary>How documents are cut into chunks.</summary>
public sealed class ChunkerOptions
{
    /// <summary>Most DBRX tokens per chunk.</summary>
    public int MaxTokens { get; init; } = 256;

    /// <summary>
    /// Most tokens a chunk repeats from the end of the previous chunk of the same section (whole sentences or lines), so a
    /// passage cut at a chunk boundary is still found whole in one of the two.
    /// </summary>
    public int OverlapTokens { get; init; } = 40;

    /// <summary>Throws <see cref="ArgumentException"/> naming the option that cannot work.</summary>
    public void Validate()
    {
        if (MaxTokens < 16)
            throw new ArgumentException($"ChunkerOptions.MaxTokens must be at least 16, not {MaxTokens}.");
        if (OverlapTokens < 0 || OverlapTokens >= MaxTokens / 2)
            throw new ArgumentException($"ChunkerOptions.OverlapTokens must be between 0 and half of MaxTokens ({MaxTokens / 2}), not {OverlapTokens}.");
    }
}
