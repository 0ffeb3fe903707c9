namespace Dbrx.Inference.Generation;

/// <summary>Tokens a request consumed and produced.</summary>
/// <param name="PromptTokens">Prompt tokens the model read (after any truncation).</param>
/// <param name="CompletionTokens">Tokens generated, the stop token included.</param>
public sealed record GenerationUsage(int PromptTokens, int CompletionTokens)
{
    /// <summary>
    /// Prompt tokens (counted in <see cref="PromptTokens"/>) that were not prefilled because an earlier request's cache
    /// row already held them (see <see cref="DbrxGeneratorOptions.ReusePromptPrefixes"/>).
    /// </summary>
    public int CachedPromptTokens { get; init; }

    /// <summary>Prompt plus completion tokens.</summary>
    public int TotalTokens => PromptTokens + CompletionTokens;
}
