using System.Text;
using Dbrx.Inference.Generation;
using Dbrx.Inference.Tokenization;

namespace Dbrx.Extensions.AI;

/// <summary>
/// The engine's token log-probabilities in the chat client's terms (<see cref="DbrxChatTokenLogProbability"/>: token
/// text and bytes), held until the next update the client streams (text may be held back while the engine's tokens
/// arrive) and attached there as <see cref="DbrxChatOptionsExtensions.LogProbabilitiesKey"/>.
/// </summary>
internal sealed class ChatLogProbabilities(DbrxTokenizer tokenizer)
{
    private static readonly UTF8Encoding Utf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: false);
    private List<DbrxChatTokenLogProbability>? pending;

    /// <summary>Adds an engine update's log-probabilities (none when the request did not ask).</summary>
    public void Add(GenerationUpdate update)
    {
        if (update.LogProbabilities is not { } values)
            return;
        pending ??= [];
        foreach (TokenLogProbability value in values)
        {
            var (token, bytes) = Text(value.TokenId);
            pending.Add(new DbrxChatTokenLogProbability(token, bytes, value.LogProbability, [.. value.TopAlternatives.Select(Alternative)]));
        }
    }

    /// <summary>What was added since the last call, for the update about to be streamed; null when nothing was.</summary>
    public IReadOnlyList<DbrxChatTokenLogProbability>? Take()
    {
        IReadOnlyList<DbrxChatTokenLogProbability>? taken = pending;
        pending = null;
        return taken;
    }

    private DbrxChatTokenAlternative Alternative(TokenAlternative alternative)
    {
        var (token, bytes) = Text(alternative.TokenId);
        return new DbrxChatTokenAlternative(token, bytes, alternative.LogProbability);
    }

    private (string Text, byte[] Bytes) Text(int tokenId)
    {
        if (tokenizer.SpecialTokenText(tokenId) is { } special)
            return (special, Encoding.UTF8.GetBytes(special));
        byte[] bytes = tokenizer.TokenBytes(tokenId).ToArray();
        return (Utf8.GetString(bytes), bytes);
    }
}
