using Dbrx.Inference.Tokenization;

namespace Dbrx.Inference.Generation;

/// <summary>
/// The one policy for fitting a prompt and its answer into a context of <c>ContextLength</c> tokens, used by the
/// generator, the chat client and the command-line tool:
/// <list type="bullet">
/// <item>Text that cannot fit is refused before it is encoded, in time linear in its length: no token covers more
/// than <see cref="DbrxTokenizer.LongestTokenBytes"/> bytes, which bounds the tokens a text needs from below.</item>
/// <item>An answer budget the caller did not set explicitly shrinks to what the context leaves after the prompt.</item>
/// <item>A prompt that leaves no room for the answer is refused, or loses its oldest tokens when truncation is asked for.</item>
/// </list>
/// Refusals are <see cref="DbrxContextLengthException"/>s, which carry the numbers.
/// </summary>
public static class DbrxContextFit
{
    /// <summary>
    /// Refuses text of <paramref name="utf8Bytes"/> bytes (before encoding) when even at the longest token it would
    /// leave fewer than <paramref name="answerTokens"/> tokens of the context for the answer.
    /// </summary>
    /// <exception cref="DbrxContextLengthException">The text cannot fit.</exception>
    public static void EnsureTextMayFit(long utf8Bytes, int answerTokens, int contextLength, DbrxTokenizer tokenizer)
    {
        ArgumentNullException.ThrowIfNull(tokenizer);
        long fewest = (utf8Bytes + tokenizer.LongestTokenBytes - 1) / tokenizer.LongestTokenBytes;
        if (fewest + Math.Max(1, answerTokens) > contextLength)
        {
            int shown = (int)Math.Min(fewest, int.MaxValue);
            throw new DbrxContextLengthException(
                $"The prompt is {utf8Bytes:N0} bytes of text, at least {shown:N0} tokens (no token covers more than {tokenizer.LongestTokenBytes} bytes), "
                + $"and the answer needs {Math.Max(1, answerTokens):N0}: more than the context of {contextLength:N0} tokens. It was refused before encoding; shorten it.",
                shown, promptTokensAtLeast: true, answerTokens, contextLength);
        }
    }

    /// <summary>
    /// The answer's budget: <paramref name="requested"/> if the caller set it explicitly, else the smaller of it and
    /// what the context leaves after the prompt (at least 1).
    /// </summary>
    public static int AnswerBudget(int promptTokens, int requested, bool explicitlySet, int contextLength) =>
        explicitlySet || promptTokens >= contextLength ? requested : Math.Min(requested, contextLength - promptTokens);

    /// <summary>
    /// The prompt that runs: <paramref name="prompt"/> itself when it and <paramref name="maxNewTokens"/> fit,
    /// else (with <paramref name="truncateFromLeft"/>) its newest tokens that leave room for the answer.
    /// </summary>
    /// <exception cref="DbrxContextLengthException">They do not fit and truncation was not asked for, or the answer alone fills the context.</exception>
    public static int[] Fit(IReadOnlyList<int> prompt, int maxNewTokens, int contextLength, bool truncateFromLeft)
    {
        ArgumentNullException.ThrowIfNull(prompt);
        long room = (long)contextLength - maxNewTokens;
        if (prompt.Count <= room)
            return [.. prompt];
        if (!truncateFromLeft || room < 1)
            throw new DbrxContextLengthException(
                $"The prompt has {prompt.Count:N0} tokens and MaxNewTokens is {maxNewTokens:N0}: together {(long)prompt.Count + maxNewTokens:N0}, beyond the context of {contextLength:N0} tokens. "
                + "Shorten the prompt, lower MaxNewTokens" + (room < 1 ? "." : ", or set TruncatePromptFromLeft to drop the oldest prompt tokens."),
                prompt.Count, promptTokensAtLeast: false, maxNewTokens, contextLength);
        return [.. prompt.Skip(prompt.Count - (int)room)];
    }
}
