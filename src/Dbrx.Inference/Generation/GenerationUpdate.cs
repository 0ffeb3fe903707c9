namespace Dbrx.Inference.Generation;

/// <summary>
/// One piece of a streamed generation: new text (possibly empty while a character or a possible stop sequence is
/// held back) and the token ids sampled since the last update. The last update carries the finish reason, usage and
/// timings.
/// </summary>
public sealed record GenerationUpdate
{
    /// <summary>Text to append to what was streamed so far.</summary>
    public string Text { get; init; } = "";

    /// <summary>Token ids generated since the previous update.</summary>
    public IReadOnlyList<int> TokenIds { get; init; } = [];

    /// <summary>
    /// The log-probability of each of <see cref="TokenIds"/>, in order, when the request asked for them
    /// (<see cref="DbrxGenerationOptions.LogProbabilities"/>); null otherwise.
    /// </summary>
    public IReadOnlyList<TokenLogProbability>? LogProbabilities { get; init; }

    /// <summary>Set on the last update only.</summary>
    public GenerationFinishReason? FinishReason { get; init; }

    /// <summary>Set on the last update only.</summary>
    public GenerationUsage? Usage { get; init; }

    /// <summary>Set on the last update only.</summary>
    public GenerationTimings? Timings { get; init; }
}
