namespace Dbrx.Inference.Generation;

/// <summary>
/// A prompt and the answer asked for do not fit the context. Carries the numbers, so each caller can word the advice
/// in its own terms (library options, command-line flags, an HTTP error).
/// </summary>
public sealed class DbrxContextLengthException : ArgumentException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="message">The message, in the library's terms.</param>
    /// <param name="promptTokens">The prompt's tokens, or the fewest it can have when it was refused before encoding.</param>
    /// <param name="promptTokensAtLeast">Whether <paramref name="promptTokens"/> is a lower bound (refused before encoding).</param>
    /// <param name="maxNewTokens">The answer's token budget asked for.</param>
    /// <param name="contextLength">Tokens per sequence, prompt and answer.</param>
    public DbrxContextLengthException(string message, int promptTokens, bool promptTokensAtLeast, int maxNewTokens, int contextLength)
        : base(message)
    {
        PromptTokens = promptTokens;
        PromptTokensAtLeast = promptTokensAtLeast;
        MaxNewTokens = maxNewTokens;
        ContextLength = contextLength;
    }

    /// <summary>The prompt's tokens, or the fewest it can have (<see cref="PromptTokensAtLeast"/>).</summary>
    public int PromptTokens { get; }

    /// <summary>Whether the prompt was refused before encoding, so <see cref="PromptTokens"/> is a lower bound.</summary>
    public bool PromptTokensAtLeast { get; }

    /// <summary>The answer's token budget asked for.</summary>
    public int MaxNewTokens { get; }

    /// <summary>Tokens per sequence, prompt and answer.</summary>
    public int ContextLength { get; }
}
