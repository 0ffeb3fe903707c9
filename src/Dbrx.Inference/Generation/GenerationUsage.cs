namespace Dbrx.Inference.Generation;

/// <summary>Tokens a request consumed and produced.</summary>
/// <param name="PromptTokens">Prompt tokens the model read (after any truncation).</param>
/// <param name="CompletionTokens">Tokens generated, the stop token included.</param>
public sealed record GenerationUsage(int PromptTokens, int CompletionTokens)
{
    /// <summary>Prompt plus completion tokens.</summary>
    public int TotalTokens => PromptTokens + CompletionTokens;
}
