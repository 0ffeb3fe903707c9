using System.CommandLine;
using System.Globalization;
using Dbrx.Inference.Generation;

namespace Dbrx.Cli;

/// <summary>Sampling and stopping options shared by <c>generate</c> and <c>chat</c>, mapped onto <see cref="DbrxGenerationOptions"/>.</summary>
internal sealed class GenerationOptions
{
    private static readonly DbrxGenerationOptions Defaults = new();

    public Option<int> MaxNewTokens { get; } = new("--max-new-tokens") { Description = "Most tokens to generate.", DefaultValueFactory = _ => Defaults.MaxNewTokens };
    public Option<double> Temperature { get; } = new("--temperature") { Description = "0 is greedy.", DefaultValueFactory = _ => Defaults.Temperature };
    public Option<int> TopK { get; } = new("--top-k") { Description = "0 turns it off.", DefaultValueFactory = _ => Defaults.TopK };
    public Option<double> TopP { get; } = new("--top-p") { Description = "In (0, 1]; 1 turns it off.", DefaultValueFactory = _ => Defaults.TopP };
    public Option<double> MinP { get; } = new("--min-p") { Description = "In [0, 1]; 0 turns it off.", DefaultValueFactory = _ => Defaults.MinP };
    public Option<double> RepetitionPenalty { get; } = new("--repetition-penalty") { Description = "The reference's repetition penalty; 1 turns it off.", DefaultValueFactory = _ => Defaults.RepetitionPenalty };
    public Option<double> FrequencyPenalty { get; } = new("--frequency-penalty") { Description = "OpenAI semantics, in [-2, 2]." };
    public Option<double> PresencePenalty { get; } = new("--presence-penalty") { Description = "OpenAI semantics, in [-2, 2]." };
    public Option<long?> Seed { get; } = new("--seed") { Description = "Seed of the sampler; the same seed gives the same output." };
    public Option<string[]> Stop { get; } = new("--stop") { Description = "A stop sequence (repeat for several).", AllowMultipleArgumentsPerToken = false };
    public Option<long[]> StopTokenIds { get; } = new("--stop-token-ids") { Description = "Token ids that end generation (default: DBRX's end of turn; \"none\" for none).", CustomParser = TokenIdList.Parse };
    public Option<string[]> LogitBias { get; } = new("--logit-bias") { Description = "ID=BIAS, added to that token's logit (repeat for several)." };
    public Option<bool> Truncate { get; } = new("--truncate") { Description = "Drop the oldest prompt tokens when the prompt does not fit the context." };
    public Option<int?> ContextLength { get; } = new("--context-length") { Description = "Tokens per sequence, prompt and output (default: max_seq_len capped at 4096)." };

    public void AddTo(Command command)
    {
        foreach (Option option in new Option[] { MaxNewTokens, Temperature, TopK, TopP, MinP, RepetitionPenalty, FrequencyPenalty, PresencePenalty, Seed, Stop, StopTokenIds, LogitBias, Truncate, ContextLength })
            command.Options.Add(option);
    }

    public DbrxGenerationOptions Build(ParseResult parse) => new()
    {
        MaxNewTokens = parse.GetValue(MaxNewTokens),
        Temperature = parse.GetValue(Temperature),
        TopK = parse.GetValue(TopK),
        TopP = parse.GetValue(TopP),
        MinP = parse.GetValue(MinP),
        RepetitionPenalty = parse.GetValue(RepetitionPenalty),
        FrequencyPenalty = parse.GetValue(FrequencyPenalty),
        PresencePenalty = parse.GetValue(PresencePenalty),
        Seed = parse.GetValue(Seed),
        StopSequences = parse.GetValue(Stop) ?? [],
        StopTokenIds = parse.GetResult(StopTokenIds) is null ? null : parse.GetValue(StopTokenIds)!.Select(id => checked((int)id)).ToArray(),
        LogitBias = ParseBias(parse.GetValue(LogitBias)),
        TruncatePromptFromLeft = parse.GetValue(Truncate),
    };

    public DbrxGeneratorOptions Generator(ParseResult parse) => new() { MaxBatchSize = 1, ContextLength = parse.GetValue(ContextLength) };

    /// <summary>Whether --max-new-tokens was given (otherwise its default shrinks to what the context leaves).</summary>
    public bool MaxNewTokensGiven(ParseResult parse) => parse.GetResult(MaxNewTokens) is { Implicit: false };

    /// <summary>
    /// Without an explicit --max-new-tokens, the default shrinks to what the context leaves after the prompt, so a
    /// short-context model still answers; an explicit value is kept (and refused if it cannot fit).
    /// </summary>
    public DbrxGenerationOptions FitToContext(ParseResult parse, DbrxGenerationOptions options, int promptTokens, int contextLength) =>
        options with { MaxNewTokens = DbrxContextFit.AnswerBudget(promptTokens, options.MaxNewTokens, MaxNewTokensGiven(parse), contextLength) };

    private static Dictionary<int, double>? ParseBias(string[]? entries)
    {
        if (entries is null || entries.Length == 0)
            return null;
        var bias = new Dictionary<int, double>();
        foreach (string entry in entries.SelectMany(e => e.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)))
        {
            string[] parts = entry.Split('=');
            if (parts.Length != 2 || !int.TryParse(parts[0], NumberStyles.Integer, CultureInfo.InvariantCulture, out int id)
                || !double.TryParse(parts[1], NumberStyles.Float, CultureInfo.InvariantCulture, out double value))
                throw new ArgumentException($"--logit-bias '{entry}' is not ID=BIAS (for example 100279=-100).");
            bias[id] = value;
        }
        return bias;
    }
}
