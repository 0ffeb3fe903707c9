namespace Dbrx.Inference.Generation;

/// <summary>
/// One request's sampling state on the host: its options, the tokens it has seen (for the repetition penalty) and
/// generated (for the frequency and presence penalties), its output constraint, and its own seeded stream of random
/// numbers, so concurrent requests never disturb each other's randomness. The choice itself is made on the device for
/// the whole batch (<see cref="Sampling.DeviceSampler"/>).
/// </summary>
internal sealed class TokenSampler
{
    private readonly HashSet<int> seen;
    private readonly Dictionary<int, int> generatedCounts = [];
    private readonly Random random;

    public TokenSampler(DbrxGenerationOptions options, long seed, IEnumerable<int> prompt, ITokenConstraint? constraint = null)
    {
        Options = options;
        Constraint = constraint;
        random = new Random(unchecked((int)seed ^ (int)(seed >> 32)));
        seen = [.. prompt];
    }

    public DbrxGenerationOptions Options { get; }

    public ITokenConstraint? Constraint { get; }

    /// <summary>The prompt's tokens and those generated.</summary>
    public IReadOnlyCollection<int> Seen => seen;

    /// <summary>How many times each token was generated.</summary>
    public IReadOnlyDictionary<int, int> GeneratedCounts => generatedCounts;

    /// <summary>
    /// Greedy with nothing that changes the logits first (no bias, penalty or constraint): the choice is the plain
    /// argmax, which the generator takes for all such rows at once.
    /// </summary>
    public bool IsPlainArgmax =>
        Options.Temperature == 0 && Options.LogitBias is not { Count: > 0 } && Options.RepetitionPenalty == 1.0
        && Options.FrequencyPenalty == 0 && Options.PresencePenalty == 0 && Constraint is null;

    /// <summary>The next number of this request's stream, uniform in [0, 1): one per sampled token.</summary>
    public double NextUniform() => random.NextDouble();

    /// <summary>Chooses the next token from one row of logits (<c>[vocab]</c>) and records it: the batch path for a batch of one.</summary>
    /// <param name="logits">The row of logits.</param>
    /// <param name="remainingTokens">Tokens that may still be generated, this one included (for the constraint).</param>
    public int Next(TorchSharp.torch.Tensor logits, int remainingTokens = int.MaxValue)
    {
        using var batch = logits.unsqueeze(0);
        var (tokens, errors) = Sampling.DeviceSampler.Choose(batch, [this], [remainingTokens]);
        if (errors[0] is { } error)
            throw error;
        Record((int)tokens[0]);
        return (int)tokens[0];
    }

    /// <summary>Records a chosen token: the constraint advances, the penalties count it.</summary>
    public void Record(int token)
    {
        Constraint?.Accept(token);
        seen.Add(token);
        generatedCounts[token] = generatedCounts.GetValueOrDefault(token) + 1;
    }
}
