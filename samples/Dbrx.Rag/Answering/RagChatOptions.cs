namespace Dbrx.Rag.Answering;

/// <summary>How questions are answered.</summary>
public sealed class RagChatOptions
{
    /// <summary>What the model is told about answering from passages.</summary>
    public string Instructions { get; init; } =
        "You answer questions about the user's documents. Search them with the search tool, answer only from the passages it returns, "
        + "and cite each passage you use by its number in brackets, like [12]. If the passages do not hold the answer, say so.";

    /// <summary>Most tokens per answer (and per search call).</summary>
    public int MaxOutputTokens { get; init; } = 256;

    /// <summary>Sampling temperature (null: the model's default).</summary>
    public float? Temperature { get; init; }

    /// <summary>Sampling seed (null: random).</summary>
    public long? Seed { get; init; }

    /// <summary>Throws <see cref="ArgumentException"/> naming the option that cannot work.</summary>
    public void Validate()
    {
        if (MaxOutputTokens < 16)
            throw new ArgumentException($"RagChatOptions.MaxOutputTokens must be at least 16, not {MaxOutputTokens}.");
        if (string.IsNullOrWhiteSpace(Instructions))
            throw new ArgumentException("RagChatOptions.Instructions must not be empty.");
    }
}
