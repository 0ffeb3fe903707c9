using Dbrx.Inference.Generation;
using static TorchSharp.torch;

namespace Dbrx.Inference.Tests;

public sealed class TokenSamplerTests
{
    private static int Sample(DbrxGenerationOptions options, float[] logits, int[]? prompt = null, long seed = 1)
    {
        var sampler = new TokenSampler(options, seed, prompt ?? []);
        using var row = tensor(logits);
        return sampler.Next(row);
    }

    private static readonly DbrxGenerationOptions Greedy = new() { Temperature = 0 };

    [Fact]
    public void Temperature_zero_is_greedy()
    {
        Assert.Equal(2, Sample(Greedy, [0.1f, 1f, 3f, 2f]));
    }

    /// <summary>Only greedy choices that nothing else shapes may be taken as the device-side argmax.</summary>
    [Fact]
    public void Only_unprocessed_greedy_is_a_plain_argmax()
    {
        bool Plain(DbrxGenerationOptions options)
        {
            var sampler = new TokenSampler(options, 1, []);
            return sampler.IsPlainArgmax;
        }
        Assert.True(Plain(Greedy));
        Assert.True(Plain(Greedy with { LogitBias = new Dictionary<int, double>() }));
        Assert.False(Plain(new DbrxGenerationOptions { Temperature = 0.7 }));
        Assert.False(Plain(Greedy with { LogitBias = new Dictionary<int, double> { [1] = 5 } }));
        Assert.False(Plain(Greedy with { RepetitionPenalty = 1.1 }));
        Assert.False(Plain(Greedy with { FrequencyPenalty = 0.5 }));
        Assert.False(Plain(Greedy with { PresencePenalty = 0.5 }));
    }

    [Fact]
    public void Top_k_of_one_is_greedy_whatever_the_seed()
    {
        var options = new DbrxGenerationOptions { Temperature = 5, TopK = 1, TopP = 1 };
        Assert.All(Enumerable.Range(0, 20), seed => Assert.Equal(2, Sample(options, [0.1f, 1f, 3f, 2f], seed: seed)));
    }

    /// <summary>Probabilities (0.5, 0.3, 0.2): top-p 0.6 keeps the first two (0.5 &lt; 0.6, 0.8 ≥ 0.6), so token 2 never comes.</summary>
    [Fact]
    public void Top_p_keeps_the_smallest_set_reaching_p()
    {
        float[] logits = [MathF.Log(0.5f), MathF.Log(0.3f), MathF.Log(0.2f)];
        var options = new DbrxGenerationOptions { Temperature = 1, TopK = 0, TopP = 0.6 };
        var seen = Enumerable.Range(0, 200).Select(seed => Sample(options, logits, seed: seed)).ToHashSet();
        Assert.Equal(new HashSet<int> { 0, 1 }, seen);
        var onlyTop = options with { TopP = 0.5 };
        Assert.All(Enumerable.Range(0, 50), seed => Assert.Equal(0, Sample(onlyTop, logits, seed: seed)));
    }

    /// <summary>Probabilities (0.5, 0.3, 0.2) with min-p 0.5: the threshold 0.25 drops token 2.</summary>
    [Fact]
    public void Min_p_drops_tokens_below_a_fraction_of_the_most_likely()
    {
        float[] logits = [MathF.Log(0.5f), MathF.Log(0.3f), MathF.Log(0.2f)];
        var options = new DbrxGenerationOptions { Temperature = 1, TopK = 0, TopP = 1, MinP = 0.5 };
        Assert.Equal(new HashSet<int> { 0, 1 }, Enumerable.Range(0, 200).Select(seed => Sample(options, logits, seed: seed)).ToHashSet());
    }

    [Fact]
    public void Sampling_follows_the_distribution_and_the_seed()
    {
        float[] logits = [MathF.Log(0.7f), MathF.Log(0.2f), MathF.Log(0.1f)];
        var options = new DbrxGenerationOptions { Temperature = 1, TopK = 0, TopP = 1 };
        var draws = Enumerable.Range(0, 2000).Select(seed => Sample(options, logits, seed: seed)).ToList();
        Assert.InRange(draws.Count(t => t == 0) / 2000.0, 0.65, 0.75);
        Assert.InRange(draws.Count(t => t == 2) / 2000.0, 0.07, 0.13);
        Assert.Equal(draws.Take(50), Enumerable.Range(0, 50).Select(seed => Sample(options, logits, seed: seed)));
    }

    [Fact]
    public void Logit_bias_is_added_before_choosing()
    {
        var options = Greedy with { LogitBias = new Dictionary<int, double> { [0] = 10 } };
        Assert.Equal(0, Sample(options, [0.1f, 1f, 3f, 2f]));
    }

    /// <summary>
    /// The reference's rule: a seen token's positive logit is divided by the penalty, a negative one multiplied.
    /// Logits (3, 2.5, -1) with token 0 in the prompt and penalty 2: token 0 drops to 1.5, so token 1 wins;
    /// a negative logit moves further down, never up.
    /// </summary>
    [Fact]
    public void Repetition_penalty_follows_the_reference()
    {
        var options = Greedy with { RepetitionPenalty = 2 };
        Assert.Equal(1, Sample(options, [3f, 2.5f, -1f], prompt: [0]));
        Assert.Equal(0, Sample(options, [3f, 2.5f, -1f], prompt: [2]));
        Assert.Equal(1, Sample(Greedy, [-0.6f, -0.5f, -1.1f], prompt: [1]));
        Assert.Equal(0, Sample(options, [-0.6f, -0.5f, -1.1f], prompt: [1]));
    }

    /// <summary>OpenAI's rule: logit −= count · frequency + presence, over generated tokens only (not the prompt).</summary>
    [Fact]
    public void Frequency_and_presence_penalties_count_generated_tokens()
    {
        var sampler = new TokenSampler(Greedy with { FrequencyPenalty = 0.6, PresencePenalty = 0.5 }, 1, prompt: [1]);
        using var logits = tensor(new float[] { 2.0f, 1.5f, 1.0f });
        Assert.Equal(0, sampler.Next(logits));   // nothing generated yet: 2.0 wins (the prompt's token 1 is not penalised)
        Assert.Equal(1, sampler.Next(logits));   // token 0 now 2.0 − 0.6 − 0.5 = 0.9 < 1.5
        Assert.Equal(2, sampler.Next(logits));   // token 1 now 0.4, token 0 0.9, token 2 1.0
        Assert.Equal(0, sampler.Next(logits));   // token 2 now −0.1, token 0 0.9
    }
}
