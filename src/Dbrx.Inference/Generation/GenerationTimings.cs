namespace Dbrx.Inference.Generation;

/// <summary>How long a request took.</summary>
/// <param name="TimeToFirstToken">From submission (queueing included) to the first generated token.</param>
/// <param name="Total">From submission to the end.</param>
/// <param name="DecodeTokensPerSecond">Tokens after the first divided by the time since the first; null with fewer than two tokens.</param>
public sealed record GenerationTimings(TimeSpan TimeToFirstToken, TimeSpan Total, double? DecodeTokensPerSecond);
