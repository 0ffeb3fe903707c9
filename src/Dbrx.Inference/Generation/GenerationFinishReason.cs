namespace Dbrx.Inference.Generation;

/// <summary>Why generation ended.</summary>
public enum GenerationFinishReason
{
    /// <summary>The model produced a stop token (by default DBRX's end of turn), or a constrained output was complete.</summary>
    EndOfTurn,

    /// <summary>The output reached one of the stop sequences (which is not part of the output).</summary>
    StopSequence,

    /// <summary><see cref="DbrxGenerationOptions.MaxNewTokens"/> tokens were generated.</summary>
    Length,

    /// <summary>The caller cancelled the request.</summary>
    Cancelled,
}
