using Dbrx.Inference.Tokenization;

namespace Dbrx.Inference.Generation;

/// <summary>
/// How one request generates: length, sampling, penalties, seed and stopping. Defaults follow Databricks' example
/// (<c>generate.py</c>: temperature 0.7, top-p 0.95, top-k 50); temperature 0 is greedy.
/// </summary>
public sealed record DbrxGenerationOptions
{
    /// <summary>Most tokens to generate (the stop token included).</summary>
    public int MaxNewTokens { get; init; } = 256;

    /// <summary>Softmax temperature; 0 picks the most likely token (greedy). Must be ≥ 0.</summary>
    public double Temperature { get; init; } = 0.7;

    /// <summary>Sample among the K most likely tokens; 0 turns it off.</summary>
    public int TopK { get; init; } = 50;

    /// <summary>Nucleus sampling: the smallest set of tokens whose probability reaches P, in (0, 1]; 1 turns it off.</summary>
    public double TopP { get; init; } = 0.95;

    /// <summary>Drops tokens less likely than MinP times the most likely one, in [0, 1]; 0 turns it off.</summary>
    public double MinP { get; init; }

    /// <summary>
    /// The reference's repetition penalty (<c>RepetitionPenaltyLogitsProcessor</c>): for every token already in the
    /// prompt or output, a positive logit is divided by it and a negative one multiplied. 1 turns it off; must be &gt; 0.
    /// </summary>
    public double RepetitionPenalty { get; init; } = 1.0;

    /// <summary>OpenAI's frequency penalty: subtracts penalty × (times the token was generated), in [-2, 2].</summary>
    public double FrequencyPenalty { get; init; }

    /// <summary>OpenAI's presence penalty: subtracts it once from every token generated so far, in [-2, 2].</summary>
    public double PresencePenalty { get; init; }

    /// <summary>Seed of this request's sampler: the same seed and input give the same tokens, whatever runs beside. Null picks one at random.</summary>
    public long? Seed { get; init; }

    /// <summary>Token ids that end generation; null means DBRX's end of turn (<c>&lt;|endoftext|&gt;</c>, <c>&lt;|im_end|&gt;</c>), empty means none.</summary>
    public IReadOnlyCollection<int>? StopTokenIds { get; init; }

    /// <summary>Strings that end generation; they may span tokens and are never part of the output.</summary>
    public IReadOnlyList<string> StopSequences { get; init; } = [];

    /// <summary>Added to the logits of the given token ids before sampling (for example −100 to ban a token).</summary>
    public IReadOnlyDictionary<int, double>? LogitBias { get; init; }

    /// <summary>Report each generated token's log-probability on its <see cref="GenerationUpdate"/> (OpenAI's <c>logprobs</c>).</summary>
    public bool LogProbabilities { get; init; }

    /// <summary>With <see cref="LogProbabilities"/>: the most likely alternatives to report at each position, 0 to 20 (OpenAI's <c>top_logprobs</c>).</summary>
    public int TopLogProbabilities { get; init; }

    /// <summary>
    /// When the prompt plus <see cref="MaxNewTokens"/> exceeds the context, drop the prompt's oldest tokens instead of
    /// failing.
    /// </summary>
    public bool TruncatePromptFromLeft { get; init; }

    /// <summary>
    /// Creates the request's <see cref="ITokenConstraint"/> (constrained decoding), or null for none. Called once per
    /// request, so the options stay reusable. Generation ends when the constraint reports completion.
    /// </summary>
    public Func<ITokenConstraint>? ConstraintFactory { get; init; }

    /// <summary>The stop token ids in effect.</summary>
    public IReadOnlyCollection<int> EffectiveStopTokenIds => StopTokenIds ?? DbrxSpecialTokens.EndOfTurn;

    /// <summary>Throws <see cref="ArgumentException"/> naming the first invalid option and its value.</summary>
    /// <param name="vocabularySize">The model's vocabulary, for token ids in <see cref="LogitBias"/>.</param>
    public void Validate(int vocabularySize)
    {
        static void Fail(string message) => throw new ArgumentException(message);
        if (MaxNewTokens < 1)
            Fail($"MaxNewTokens must be at least 1, not {MaxNewTokens}.");
        if (!(Temperature >= 0) || double.IsInfinity(Temperature))
            Fail($"Temperature must be a finite number ≥ 0 (0 is greedy), not {Temperature}.");
        if (TopK < 0)
            Fail($"TopK must be ≥ 0 (0 turns it off), not {TopK}.");
        if (!(TopP > 0 && TopP <= 1))
            Fail($"TopP must be in (0, 1], not {TopP}.");
        if (!(MinP >= 0 && MinP <= 1))
            Fail($"MinP must be in [0, 1], not {MinP}.");
        if (!(RepetitionPenalty > 0) || double.IsInfinity(RepetitionPenalty))
            Fail($"RepetitionPenalty must be a finite number > 0 (1 turns it off), not {RepetitionPenalty}.");
        if (!(FrequencyPenalty >= -2 && FrequencyPenalty <= 2))
            Fail($"FrequencyPenalty must be in [-2, 2], not {FrequencyPenalty}.");
        if (!(PresencePenalty >= -2 && PresencePenalty <= 2))
            Fail($"PresencePenalty must be in [-2, 2], not {PresencePenalty}.");
        if (TopLogProbabilities is < 0 or > 20)
            Fail($"TopLogProbabilities must be between 0 and 20, not {TopLogProbabilities}.");
        if (TopLogProbabilities > 0 && !LogProbabilities)
            Fail("TopLogProbabilities needs LogProbabilities.");
        if (StopSequences is null || StopSequences.Any(string.IsNullOrEmpty))
            Fail("StopSequences must not contain null or empty strings.");
        if (StopTokenIds is not null && StopTokenIds.Any(id => id < 0))
            Fail($"StopTokenIds must be non-negative, not {StopTokenIds.First(id => id < 0)}.");
        foreach (var (id, bias) in LogitBias ?? new Dictionary<int, double>())
        {
            if (id < 0 || id >= vocabularySize)
                Fail($"LogitBias names token id {id}, outside the model's vocabulary of {vocabularySize} ids.");
            if (!double.IsFinite(bias))
                Fail($"LogitBias for token id {id} must be finite, not {bias}.");
        }
    }
}
