using Dbrx.Inference.Generation;
using Dbrx.Inference.Generation.Sampling;
using Dbrx.Inference.Modeling;
using Dbrx.Inference.Tests.Support;
using Dbrx.Inference.Tokenization;
using static TorchSharp.torch;

namespace Dbrx.Inference.Tests;

/// <summary>
/// The batched sampler on the device against the exact distributions, computed here in double precision from the
/// options' definitions (temperature, then top-k, top-p, min-p, as the reference orders them): a chi-square test per
/// option set over many rows sampled together, with fixed seeds. Then the generator's log-probabilities against the
/// reference's logits on the golden checkpoint, and processed greedy rows against the plain argmax path.
/// </summary>
public sealed class DeviceSamplerTests
{
    private static readonly double[] Logits = [2.0, 1.5, 1.2, 0.7, 0.3, 0.0, -0.4, -1.0, -1.5, -3.0];

    /// <summary>The distribution the options define over <see cref="Logits"/>, written from their definitions.</summary>
    private static double[] Exact(DbrxGenerationOptions options)
    {
        int vocab = Logits.Length;
        double[] scaled = [.. Logits.Select(l => l / options.Temperature)];
        bool[] kept = [.. Enumerable.Repeat(true, vocab)];
        if (options.TopK > 0 && options.TopK < vocab)
        {
            double kth = scaled.OrderDescending().ElementAt(options.TopK - 1);
            for (int i = 0; i < vocab; i++)
                kept[i] &= scaled[i] >= kth;
        }
        double[] Normalised()
        {
            double[] weights = [.. scaled.Select((s, i) => kept[i] ? Math.Exp(s) : 0)];
            double sum = weights.Sum();
            return [.. weights.Select(w => w / sum)];
        }
        if (options.TopP < 1)
        {
            double[] p = Normalised();
            double before = 0;
            foreach (int i in Enumerable.Range(0, vocab).OrderByDescending(i => p[i]))
            {
                if (before >= options.TopP)
                    kept[i] = false;
                before += p[i];
            }
        }
        if (options.MinP > 0)
        {
            double[] p = Normalised();
            double floor = p.Max() * options.MinP;
            for (int i = 0; i < vocab; i++)
                kept[i] &= p[i] >= floor;
        }
        return Normalised();
    }

    /// <summary>The chi-square statistic's 99.9th percentile for <paramref name="degrees"/> degrees of freedom (Wilson–Hilferty).</summary>
    private static double Critical(int degrees)
    {
        const double z = 3.090;   // the standard normal's 99.9th percentile
        double a = 2.0 / (9 * degrees);
        return degrees * Math.Pow(1 - a + (z * Math.Sqrt(a)), 3);
    }

    public static TheoryData<string, double, int, double, double> OptionSets => new()
    {
        { "temperature 1", 1.0, 0, 1.0, 0.0 },
        { "temperature 0.5", 0.5, 0, 1.0, 0.0 },
        { "top-k 4", 1.0, 4, 1.0, 0.0 },
        { "top-p 0.8", 1.0, 0, 0.8, 0.0 },
        { "min-p 0.2", 1.3, 0, 1.0, 0.2 },
        { "the defaults: top-k 50, top-p 0.95, temperature 0.7", 0.7, 50, 0.95, 0.0 },
        { "all together", 0.8, 6, 0.9, 0.05 },
    };

    [Theory]
    [MemberData(nameof(OptionSets))]
    public void Samples_follow_the_exact_distribution(string name, double temperature, int topK, double topP, double minP)
    {
        var options = new DbrxGenerationOptions { Temperature = temperature, TopK = topK, TopP = topP, MinP = minP };
        double[] expected = Exact(options);
        const int rows = 4000, rounds = 5;
        var counts = new int[Logits.Length];
        using var row = tensor(Logits.Select(l => (float)l).ToArray());
        using var batch = row.unsqueeze(0).expand(rows, Logits.Length).contiguous();
        for (int round = 0; round < rounds; round++)
        {
            TokenSampler[] samplers = [.. Enumerable.Range(0, rows).Select(i => new TokenSampler(options, seed: (round * rows) + i, prompt: []))];
            var (tokens, errors) = DeviceSampler.Choose(batch, samplers, [.. Enumerable.Repeat(int.MaxValue, rows)]);
            Assert.All(errors, Assert.Null);
            foreach (long token in tokens)
                counts[token]++;
        }
        int n = rows * rounds;
        double chiSquare = 0;
        int categories = 0;
        for (int i = 0; i < Logits.Length; i++)
        {
            if (expected[i] == 0)
            {
                Assert.True(counts[i] == 0, $"{name}: token {i} was drawn {counts[i]} times though the options rule it out");
                continue;
            }
            categories++;
            double e = expected[i] * n;
            chiSquare += (counts[i] - e) * (counts[i] - e) / e;
        }
        if (categories > 1)
            Assert.True(chiSquare < Critical(categories - 1), $"{name}: chi-square {chiSquare:F1} over {categories - 1} degrees of freedom; counts {string.Join(", ", counts)}");
    }

    [Fact]
    public void A_seeded_row_draws_the_same_token_whatever_is_batched_beside_it()
    {
        var options = new DbrxGenerationOptions { Temperature = 1.0, TopK = 0, TopP = 1.0 };
        using var row = tensor(Logits.Select(l => (float)l).ToArray());
        long Alone(int seed)
        {
            using var one = row.unsqueeze(0);
            return DeviceSampler.Choose(one, [new TokenSampler(options, seed, [])], [int.MaxValue]).Tokens[0];
        }
        using var three = row.unsqueeze(0).expand(3, Logits.Length).contiguous();
        var greedy = new DbrxGenerationOptions { Temperature = 0 };
        var withOthers = DeviceSampler.Choose(three, [new TokenSampler(greedy, 1, []), new TokenSampler(options, 42, []), new TokenSampler(options with { TopK = 3 }, 5, [])], [int.MaxValue, int.MaxValue, int.MaxValue]);
        Assert.Equal(Alone(42), withOthers.Tokens[1]);
        Assert.Equal(0, withOthers.Tokens[0]);
    }

    /// <summary>The first generated token's log-probability and top alternatives equal log_softmax of the reference's logits.</summary>
    [Fact]
    public async Task Log_probabilities_match_the_reference_logits_on_the_golden_model()
    {
        using var golden = new Golden();
        using var model = Golden.LoadModel(AttentionImplementation.Eager);
        using var generator = new DbrxGenerator(model, DbrxTokenizer.Default, new DbrxGeneratorOptions { ContextLength = 64 });
        using var inputIds = golden.Get("input_ids");
        using var referenceLogits = golden.Get("logits");
        int[] prompt = [.. inputIds[0].data<long>().Select(id => (int)id)];
        var options = new DbrxGenerationOptions { Temperature = 0, MaxNewTokens = 1, StopTokenIds = [], LogProbabilities = true, TopLogProbabilities = 5 };

        GenerationUpdate last = await generator.GenerateStreamingAsync(prompt, options, TestContext.Current.CancellationToken).LastAsync(TestContext.Current.CancellationToken);

        TokenLogProbability reported = Assert.Single(last.LogProbabilities!);
        using var reference = referenceLogits[0, prompt.Length - 1].to_type(ScalarType.Float64).log_softmax(-1);
        double[] expected = reference.data<double>().ToArray();
        Assert.Equal(expected[reported.TokenId], reported.LogProbability, 1e-4);
        int[] top = [.. Enumerable.Range(0, expected.Length).OrderByDescending(i => expected[i]).Take(5)];
        Assert.Equal(top, reported.TopAlternatives.Select(a => a.TokenId));
        Assert.All(reported.TopAlternatives, a => Assert.Equal(expected[a.TokenId], a.LogProbability, 1e-4));
        Assert.Equal(top[0], reported.TokenId);
    }

    /// <summary>A greedy row that goes through the sampler (a logit bias of 0 on a token) chooses what the plain argmax does.</summary>
    [Fact]
    public async Task Processed_greedy_rows_choose_what_the_plain_argmax_chooses()
    {
        using var golden = new Golden();
        using var model = Golden.LoadModel(AttentionImplementation.Sdpa);
        using var generator = new DbrxGenerator(model, DbrxTokenizer.Default, new DbrxGeneratorOptions { ContextLength = 64 });
        var (prompt, expected) = golden.GreedyGeneration();
        var options = new DbrxGenerationOptions { Temperature = 0, MaxNewTokens = 20, StopTokenIds = [], LogitBias = new Dictionary<int, double> { [3] = 0.0 } };
        var result = await generator.GenerateAsync(prompt, options, TestContext.Current.CancellationToken);
        Assert.Equal(expected, result.TokenIds);
    }
}
