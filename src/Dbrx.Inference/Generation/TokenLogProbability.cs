namespace Dbrx.Inference.Generation;

/// <summary>
/// A generated token's log-probability under the model (the log-softmax of its logits, before any sampling option
/// reshaped them: what the reference's <c>output_scores</c> with <c>log_softmax</c> gives, and vLLM's raw logprobs), with
/// the most likely alternatives when asked for (<see cref="DbrxGenerationOptions.TopLogProbabilities"/>).
/// </summary>
/// <param name="TokenId">The token generated.</param>
/// <param name="LogProbability">Its natural-log probability.</param>
/// <param name="TopAlternatives">The most likely tokens at this position, most likely first (the generated one among them when it is one of them); empty unless asked for.</param>
public sealed record TokenLogProbability(int TokenId, double LogProbability, IReadOnlyList<TokenAlternative> TopAlternatives);

/// <summary>One of the most likely tokens at a position, and its natural-log probability.</summary>
/// <param name="TokenId">The token.</param>
/// <param name="LogProbability">Its natural-log probability.</param>
public readonly record struct TokenAlternative(int TokenId, double LogProbability);
