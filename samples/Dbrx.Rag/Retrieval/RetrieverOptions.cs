namespace Dbrx.Rag.Retrieval;

/// <summary>How many passages a search returns and, with embeddings, how many candidates each ranking gives the fusion.</summary>
public sealed class RetrieverOptions
{
    /// <summary>Passages per search.</summary>
    public int Top { get; init; } = 5;

    /// <summary>With an embedding generator: candidates taken from BM25 and from vector similarity before fusing.</summary>
    public int FusionCandidates { get; init; } = 50;

    /// <summary>Throws <see cref="ArgumentException"/> naming the option that cannot work.</summary>
    public void Validate()
    {
        if (Top is < 1 or > 100)
            throw new ArgumentException($"RetrieverOptions.Top must be between 1 and 100, not {Top}.");
        if (FusionCandidates < Top)
            throw new ArgumentException($"RetrieverOptions.FusionCandidates must be at least Top ({Top}), not {FusionCandidates}.");
    }
}
