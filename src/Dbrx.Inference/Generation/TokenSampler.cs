using Dbrx.Inference.Runtime;
using TorchSharp;
using static TorchSharp.torch;

namespace Dbrx.Inference.Generation;

/// <summary>
/// Picks one request's next token from its logits: logit bias, the reference's repetition penalty, OpenAI's frequency
/// and presence penalties, then greedy choice or temperature, top-k, top-p and min-p (the reference's order) and a
/// draw from this request's own seeded generator, so concurrent requests never disturb each other's randomness.
/// </summary>
internal sealed class TokenSampler : IDisposable
{
    private readonly DbrxGenerationOptions options;
    private readonly Generator generator;
    private readonly HashSet<int> seen;
    private readonly Dictionary<int, int> generatedCounts = [];

    private readonly ITokenConstraint? constraint;
    private ulong[]? allowed;

    public TokenSampler(DbrxGenerationOptions options, long seed, IEnumerable<int> prompt, ITokenConstraint? constraint = null)
    {
        this.options = options;
        this.constraint = constraint;
        generator = new Generator((ulong)seed);
        seen = [.. prompt];
    }

    /// <summary>
    /// Greedy with nothing that changes the logits first (no bias, penalty or constraint): the choice is the plain
    /// argmax, which the generator takes on the model's device for all such rows at once instead of copying their
    /// logits to the host.
    /// </summary>
    public bool IsPlainArgmax =>
        options.Temperature == 0 && options.LogitBias is not { Count: > 0 } && options.RepetitionPenalty == 1.0
        && options.FrequencyPenalty == 0 && options.PresencePenalty == 0 && constraint is null;

    /// <summary>Chooses the next token from a row of logits (<c>[vocab]</c>, float32, CPU) and records it.</summary>
    /// <param name="logits">The row of logits.</param>
    /// <param name="remainingTokens">Tokens that may still be generated, this one included (for the constraint).</param>
    public int Next(Tensor logits, int remainingTokens = int.MaxValue)
    {
        int token = Choose(logits, remainingTokens);
        Record(token);
        return token;
    }

    /// <summary>Records a token chosen elsewhere (the device-side argmax of <see cref="IsPlainArgmax"/> rows).</summary>
    public void Record(int token)
    {
        constraint?.Accept(token);
        seen.Add(token);
        generatedCounts[token] = generatedCounts.GetValueOrDefault(token) + 1;
    }

    private int Choose(Tensor logits, int remainingTokens)
    {
        using var scope = NewDisposeScope();
        var row = logits.to_type(ScalarType.Float32).clone();
        long vocab = row.shape[0];

        if (options.LogitBias is { Count: > 0 } bias)
        {
            var ids = tensor(bias.Keys.Select(k => (long)k).ToArray());
            row.index_add_(0, ids, tensor(bias.Values.Select(v => (float)v).ToArray()), RootedScalars.One);
        }
        if (options.RepetitionPenalty != 1.0 && seen.Count > 0)
        {
            var ids = tensor(seen.Where(id => id < vocab).Select(id => (long)id).ToArray());
            var values = row.index_select(0, ids);
            using var penalty = options.RepetitionPenalty.ToScalar();
            var penalised = where(values.lt(RootedScalars.Zero), values.mul(penalty), values.div(penalty));
            row.index_put_(penalised, ids);
        }
        if ((options.FrequencyPenalty != 0 || options.PresencePenalty != 0) && generatedCounts.Count > 0)
        {
            var entries = generatedCounts.Where(p => p.Key < vocab).ToList();
            var ids = tensor(entries.Select(p => (long)p.Key).ToArray());
            var penalties = tensor(entries.Select(p => (float)(p.Value * options.FrequencyPenalty + options.PresencePenalty)).ToArray());
            row.index_add_(0, ids, penalties, RootedScalars.MinusOne);
        }

        if (constraint is not null)
            row = Constrain(row, remainingTokens);

        if (options.Temperature == 0)
            return (int)row.argmax().item<long>();

        using var temperature = options.Temperature.ToScalar();
        row = row.div(temperature);
        if (options.TopK > 0 && options.TopK < vocab)
        {
            var (top, _) = row.topk(options.TopK);
            row = row.masked_fill(row < top[-1], RootedScalars.NegativeInfinity);
        }
        if (options.TopP < 1.0)
        {
            var (sorted, order) = row.sort(descending: true);
            var probabilities = sorted.softmax(-1);
            // Drop a token when the tokens more likely than it already reach TopP; the most likely always stays.
            using var topP = options.TopP.ToScalar();
            var remove = (probabilities.cumsum(0) - probabilities).ge(topP);
            row = row.scatter(0, order, sorted.masked_fill(remove, RootedScalars.NegativeInfinity));
        }
        if (options.MinP > 0)
        {
            var probabilities = row.softmax(-1);
            using var minP = options.MinP.ToScalar();
            row = row.masked_fill(probabilities < probabilities.max().mul(minP), RootedScalars.NegativeInfinity);
        }
        return (int)row.softmax(-1).multinomial(1, generator: generator).item<long>();
    }

    /// <summary>Sets the logits of the tokens the constraint rules out to −∞, in place (the row is this sampler's own float32 copy on the CPU).</summary>
    private Tensor Constrain(Tensor row, int remainingTokens)
    {
        int vocab = (int)row.shape[0];
        if (!row.is_contiguous())
            row = row.contiguous();
        allowed ??= new ulong[(vocab + 63) / 64];
        constraint!.FillAllowedTokens(allowed, remainingTokens);
        Span<float> values = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(row.bytes);
        bool any = false;
        for (int word = 0; word < allowed.Length; word++)
        {
            ulong bits = allowed[word];
            any |= bits != 0;
            if (bits == ulong.MaxValue)
                continue;
            int first = word * 64, last = Math.Min(first + 64, vocab);
            for (int id = first; id < last; id++)
            {
                if ((bits & (1UL << (id - first))) == 0)
                    values[id] = float.NegativeInfinity;
            }
        }
        if (!any)
            throw new InvalidOperationException("The output constraint allows no token at this point.");
        return row;
    }

    public void Dispose() => generator.Dispose();
}
