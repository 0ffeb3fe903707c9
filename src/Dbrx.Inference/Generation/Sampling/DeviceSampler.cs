using Dbrx.Inference.Runtime;
using TorchSharp;
using static TorchSharp.torch;

namespace Dbrx.Inference.Generation.Sampling;

/// <summary>
/// Chooses the next token of several requests at once from their rows of logits, on the logits' device, each by its
/// own options: logit bias, the reference's repetition penalty, OpenAI's frequency and presence penalties, the output
/// constraint's allowed tokens, then greedy choice, or temperature, top-k, top-p and min-p (the reference's order) and
/// a draw. Only the chosen ids come back to the host. The draw takes one uniform number per row from the request's
/// own seeded stream and inverts the row's cumulative distribution, so a request's tokens never depend on the others
/// in its batch.
/// </summary>
/// <remarks>
/// Top-k, top-p and min-p work on candidates: when every sampling row has a top-k (the default 50), the k most likely
/// tokens of each row (one <c>topk</c>), otherwise the whole vocabulary sorted (only when a row asks for top-p).
/// </remarks>
internal static class DeviceSampler
{
    /// <summary>Top-k values up to this take the candidates path; above it, or 0, the whole vocabulary.</summary>
    private const int MaxCandidates = 1024;

    /// <summary>
    /// The chosen token of each row of <paramref name="logits"/> (<c>[R, vocab]</c>), by <paramref name="samplers"/>[r];
    /// a row whose own choice fails (its constraint allows nothing) gets its error instead.
    /// </summary>
    /// <param name="logits">The rows' logits, on the model's device.</param>
    /// <param name="samplers">Each row's sampler: options, history and stream of random numbers.</param>
    /// <param name="remainingTokens">Tokens each row may still generate, this one included (for its constraint).</param>
    public static (long[] Tokens, Exception?[] Errors) Choose(Tensor logits, IReadOnlyList<TokenSampler> samplers, IReadOnlyList<int> remainingTokens)
    {
        int rows = samplers.Count;
        var tokens = new long[rows];
        var errors = new Exception?[rows];
        using var scope = NewDisposeScope();
        using var mode = inference_mode();
        Tensor x = logits.to_type(ScalarType.Float32).clone();
        long vocab = x.shape[1];
        Device device = x.device;

        x = ApplyBias(x, samplers);
        x = ApplyRepetitionPenalty(x, samplers, vocab);
        x = ApplyFrequencyAndPresence(x, samplers, vocab);
        x = ApplyConstraints(x, samplers, remainingTokens, errors);

        int[] greedy = [.. Enumerable.Range(0, rows).Where(r => errors[r] is null && samplers[r].Options.Temperature == 0)];
        int[] sampling = [.. Enumerable.Range(0, rows).Where(r => errors[r] is null && samplers[r].Options.Temperature > 0)];
        if (greedy.Length > 0)
        {
            long[] chosen = Rows(x, greedy).argmax(-1).cpu().data<long>().ToArray();
            for (int i = 0; i < greedy.Length; i++)
                tokens[greedy[i]] = chosen[i];
        }
        if (sampling.Length > 0)
        {
            long[] chosen = Sample(Rows(x, sampling), [.. sampling.Select(r => samplers[r])], vocab, device);
            for (int i = 0; i < sampling.Length; i++)
                tokens[sampling[i]] = chosen[i];
        }
        return (tokens, errors);
    }

    private static Tensor ApplyBias(Tensor x, IReadOnlyList<TokenSampler> samplers)
    {
        var (rows, columns, values) = (new List<long>(), new List<long>(), new List<float>());
        for (int r = 0; r < samplers.Count; r++)
        {
            foreach (var (id, bias) in samplers[r].Options.LogitBias ?? new Dictionary<int, double>())
            {
                rows.Add(r);
                columns.Add(id);
                values.Add((float)bias);
            }
        }
        if (rows.Count > 0)
            x.index_put_(tensor(values.ToArray(), device: x.device), [tensor(rows.ToArray(), device: x.device), tensor(columns.ToArray(), device: x.device)], accumulate: true);
        return x;
    }

    /// <summary>The reference's rule: a seen token's positive logit is divided by the penalty, a negative one multiplied.</summary>
    private static Tensor ApplyRepetitionPenalty(Tensor x, IReadOnlyList<TokenSampler> samplers, long vocab)
    {
        var (rows, columns) = (new List<long>(), new List<long>());
        var penalties = new float[samplers.Count];
        for (int r = 0; r < samplers.Count; r++)
        {
            penalties[r] = (float)samplers[r].Options.RepetitionPenalty;
            if (penalties[r] == 1f)
                continue;
            foreach (int id in samplers[r].Seen.Where(id => id < vocab))
            {
                rows.Add(r);
                columns.Add(id);
            }
        }
        if (rows.Count == 0)
            return x;
        Tensor seen = zeros(x.shape, ScalarType.Bool, x.device);
        seen.index_put_(ones([rows.Count], ScalarType.Bool, x.device), tensor(rows.ToArray(), device: x.device), tensor(columns.ToArray(), device: x.device));
        Tensor penalty = tensor(penalties, device: x.device).unsqueeze(1);
        Tensor penalised = where(x.lt(RootedScalars.Zero), x.mul(penalty), x.div(penalty));
        return where(seen, penalised, x);
    }

    /// <summary>OpenAI's rule: logit −= count · frequency + presence, over generated tokens only.</summary>
    private static Tensor ApplyFrequencyAndPresence(Tensor x, IReadOnlyList<TokenSampler> samplers, long vocab)
    {
        var (rows, columns, values) = (new List<long>(), new List<long>(), new List<float>());
        for (int r = 0; r < samplers.Count; r++)
        {
            DbrxGenerationOptions options = samplers[r].Options;
            if (options.FrequencyPenalty == 0 && options.PresencePenalty == 0)
                continue;
            foreach (var (id, count) in samplers[r].GeneratedCounts.Where(p => p.Key < vocab))
            {
                rows.Add(r);
                columns.Add(id);
                values.Add((float)((count * options.FrequencyPenalty) + options.PresencePenalty));
            }
        }
        if (rows.Count > 0)
            x.index_put_(tensor(values.ToArray(), device: x.device).neg(), [tensor(rows.ToArray(), device: x.device), tensor(columns.ToArray(), device: x.device)], accumulate: true);
        return x;
    }

    /// <summary>
    /// Sets the logits of the tokens each row's constraint rules out to −∞: the constraints' bitsets go to the device
    /// packed (64 tokens a word) and are unpacked there. A row whose constraint allows nothing gets an error.
    /// </summary>
    private static Tensor ApplyConstraints(Tensor x, IReadOnlyList<TokenSampler> samplers, IReadOnlyList<int> remainingTokens, Exception?[] errors)
    {
        int[] constrained = [.. Enumerable.Range(0, samplers.Count).Where(r => samplers[r].Constraint is not null)];
        if (constrained.Length == 0)
            return x;
        long vocab = x.shape[1];
        int words = (int)((vocab + 63) / 64);
        var packed = new long[samplers.Count * words];
        Array.Fill(packed, -1L);   // every token allowed in the rows without a constraint
        foreach (int r in constrained)
        {
            Span<ulong> allowed = System.Runtime.InteropServices.MemoryMarshal.Cast<long, ulong>(packed.AsSpan(r * words, words));
            samplers[r].Constraint!.FillAllowedTokens(allowed, remainingTokens[r]);
            if (!AnyAllowed(allowed, vocab))
                errors[r] = new InvalidOperationException("The output constraint allows no token at this point.");
        }
        Tensor bits = tensor(packed, [samplers.Count, words, 1], device: x.device);
        Tensor shifts = RootedScalars.Arange(0, 64, 1, ScalarType.Int64, x.device).view(1, 1, 64);
        Tensor allowedTokens = bits.bitwise_right_shift(shifts).bitwise_and(ones([1], ScalarType.Int64, x.device)).view(samplers.Count, words * 64L).narrow(1, 0, vocab).to_type(ScalarType.Bool);
        return x.masked_fill(allowedTokens.logical_not(), RootedScalars.NegativeInfinity);
    }

    private static bool AnyAllowed(ReadOnlySpan<ulong> allowed, long vocab)
    {
        for (int word = 0; word < allowed.Length; word++)
        {
            ulong bits = allowed[word];
            long last = Math.Min(64, vocab - (word * 64L));
            if (last < 64)
                bits &= (1UL << (int)last) - 1;
            if (bits != 0)
                return true;
        }
        return false;
    }

    /// <summary>Temperature, top-k, top-p and min-p on each row's candidates, then one draw per row.</summary>
    private static long[] Sample(Tensor x, TokenSampler[] samplers, long vocab, Device device)
    {
        int rows = samplers.Length;
        Tensor temperature = tensor(samplers.Select(s => (float)s.Options.Temperature).ToArray(), device: device).unsqueeze(1);
        x = x.div(temperature);
        int[] topK = [.. samplers.Select(s => s.Options.TopK > 0 && s.Options.TopK < vocab ? s.Options.TopK : 0)];
        bool anyTopP = samplers.Any(s => s.Options.TopP < 1.0);

        // Candidates, most likely first where an order is needed: the top k of each row, or the whole vocabulary.
        Tensor values, ids;
        bool ordered = true;
        if (topK.All(k => k is > 0 and <= MaxCandidates))
        {
            (values, ids) = x.topk(topK.Max());
        }
        else if (anyTopP)
        {
            (values, ids) = x.sort(descending: true);
        }
        else
        {
            values = x;
            ids = RootedScalars.Arange(0, vocab, 1, ScalarType.Int64, device).unsqueeze(0).expand(rows, vocab);
            ordered = false;
        }
        long candidates = values.shape[1];

        // Top-k: a row keeps the values at or above its k-th largest (ties with it stay, as the reference's do).
        if (topK.Any(k => k > 0))
        {
            Tensor descending = ordered ? values : x.topk(topK.Max()).values;
            Tensor kth = descending.gather(1, tensor(topK.Select(k => (long)Math.Max(k, 1) - 1).ToArray(), device: device).unsqueeze(1));
            Tensor on = tensor(topK.Select(k => k > 0).ToArray(), device: device).unsqueeze(1);
            values = values.masked_fill(values.lt(kth).logical_and(on), RootedScalars.NegativeInfinity);
        }

        // Top-p, on candidates in descending order: drop a token when the ones more likely than it already reach p.
        if (anyTopP)
        {
            Tensor probabilities = values.softmax(-1);
            Tensor before = probabilities.cumsum(-1).sub(probabilities);
            Tensor topP = tensor(samplers.Select(s => s.Options.TopP < 1.0 ? (float)s.Options.TopP : float.PositiveInfinity).ToArray(), device: device).unsqueeze(1);
            values = values.masked_fill(before.ge(topP), RootedScalars.NegativeInfinity);
        }

        // Min-p: drop tokens less likely than min_p times the row's most likely.
        if (samplers.Any(s => s.Options.MinP > 0))
        {
            Tensor probabilities = values.softmax(-1);
            Tensor minP = tensor(samplers.Select(s => (float)s.Options.MinP).ToArray(), device: device).unsqueeze(1);
            Tensor threshold = probabilities.max(-1, keepdim: true).values.mul(minP);
            values = values.masked_fill(probabilities.lt(threshold), RootedScalars.NegativeInfinity);
        }

        // The draw: the first candidate whose cumulative probability passes the row's uniform number.
        Tensor cumulative = values.softmax(-1).cumsum(-1);
        Tensor uniform = tensor(samplers.Select(s => (float)s.NextUniform()).ToArray(), device: device).unsqueeze(1);
        Tensor total = cumulative.narrow(1, candidates - 1, 1);
        using var last = (candidates - 1).ToScalar();
        Tensor position = cumulative.lt(uniform.mul(total)).sum(-1, keepdim: true).clamp_max(last);
        return ids.gather(1, position).squeeze(1).cpu().data<long>().ToArray();
    }

    private static Tensor Rows(Tensor x, int[] rows) =>
        rows.Length == x.shape[0] ? x : x.index_select(0, tensor(rows.Select(r => (long)r).ToArray(), device: x.device));
}
