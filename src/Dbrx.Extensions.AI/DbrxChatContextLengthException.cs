namespace Dbrx.Extensions.AI;

/// <summary>
/// A conversation and the answer asked for do not fit the model's context. Carries the numbers, so a front end can
/// word the advice in its own terms (a server names its request fields; the message names this client's options).
/// </summary>
public sealed class DbrxChatContextLengthException : ArgumentException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="message">The message, in the terms of the chat client's options.</param>
    /// <param name="promptTokens">The prompt's tokens, or the fewest it can have when it was refused before encoding.</param>
    /// <param name="promptTokensAtLeast">Whether <paramref name="promptTokens"/> is a lower bound.</param>
    /// <param name="maxOutputTokens">The answer's token budget asked for.</param>
    /// <param name="contextLength">Tokens per conversation, prompt and answer.</param>
    /// <param name="innerException">The engine's own exception, if it came from there.</param>
    public DbrxChatContextLengthException(string message, int promptTokens, bool promptTokensAtLeast, int maxOutputTokens, int contextLength, Exception? innerException = null)
        : base(message, innerException)
    {
        PromptTokens = promptTokens;
        PromptTokensAtLeast = promptTokensAtLeast;
        MaxOutputTokens = maxOutputTokens;
        ContextLength = contextLength;
    }

    /// <summary>The prompt's tokens (the system turn with tools and response format, and the conversation), or the fewest it can have.</summary>
    public int PromptTokens { get; }

    /// <summary>Whether the prompt was refused before encoding, so <see cref="PromptTokens"/> is a lower bound.</summary>
    public bool PromptTokensAtLeast { get; }

    /// <summary>The answer's token budget asked for.</summary>
    public int MaxOutputTokens { get; }

    /// <summary>Tokens per conversation, prompt and answer.</summary>
    public int ContextLength { get; }
}
