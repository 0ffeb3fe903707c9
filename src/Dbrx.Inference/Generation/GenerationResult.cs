namespace Dbrx.Inference.Generation;

/// <summary>A whole generation: the streamed updates collected.</summary>
/// <param name="Text">The generated text (stop sequences and stop tokens excluded).</param>
/// <param name="TokenIds">Every generated token id, the stop token included.</param>
/// <param name="FinishReason">Why generation ended.</param>
/// <param name="Usage">Prompt and completion token counts.</param>
/// <param name="Timings">Time to first token, total time and decode speed.</param>
public sealed record GenerationResult(string Text, IReadOnlyList<int> TokenIds, GenerationFinishReason FinishReason, GenerationUsage Usage, GenerationTimings Timings);
