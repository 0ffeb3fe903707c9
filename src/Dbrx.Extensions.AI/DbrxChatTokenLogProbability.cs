namespace Dbrx.Extensions.AI;

/// <summary>
/// A generated token's log-probability, as a DBRX answer reports it when asked (<see cref="DbrxChatOptionsExtensions.WithLogProbabilities"/>):
/// the token's text and bytes (a token may hold part of a character), its natural-log probability under the model, and
/// the most likely alternatives at its position. Read them with <see cref="DbrxChatOptionsExtensions.GetLogProbabilities(Microsoft.Extensions.AI.ChatResponse)"/>.
/// </summary>
/// <param name="Token">The token's text (bytes that are not whole UTF-8 characters become U+FFFD).</param>
/// <param name="Bytes">The token's bytes.</param>
/// <param name="LogProbability">Its natural-log probability.</param>
/// <param name="TopAlternatives">The most likely tokens at this position, most likely first; empty unless asked for.</param>
public sealed record DbrxChatTokenLogProbability(string Token, byte[] Bytes, double LogProbability, IReadOnlyList<DbrxChatTokenAlternative> TopAlternatives);

/// <summary>One of the most likely tokens at a position.</summary>
/// <param name="Token">The token's text.</param>
/// <param name="Bytes">The token's bytes.</param>
/// <param name="LogProbability">Its natural-log probability.</param>
public sealed record DbrxChatTokenAlternative(string Token, byte[] Bytes, double LogProbability);
