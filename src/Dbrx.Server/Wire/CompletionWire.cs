using System.Text.Json;
using System.Text.Json.Serialization;

namespace Dbrx.Server.Wire;

/// <summary>
/// The body of <c>POST /v1/completions</c> (OpenAI's legacy completions): a text prompt, continued as it is. The
/// sampling fields mean what they mean in a chat completion; <c>logprobs</c> here is how many alternatives to report
/// per token. <c>top_k</c>, <c>min_p</c> and <c>repetition_penalty</c> are vLLM's extensions.
/// </summary>
internal sealed class CompletionRequest
{
    public string? Model { get; set; }
    public JsonElement? Prompt { get; set; }
    public int? MaxTokens { get; set; }
    public double? Temperature { get; set; }
    public double? TopP { get; set; }
    public JsonElement? Stop { get; set; }
    public long? Seed { get; set; }
    public int? N { get; set; }
    public int? Logprobs { get; set; }
    public bool? Stream { get; set; }
    public StreamOptionsWire? StreamOptions { get; set; }
    public double? PresencePenalty { get; set; }
    public double? FrequencyPenalty { get; set; }
    public Dictionary<string, double>? LogitBias { get; set; }
    public bool? Echo { get; set; }
    public string? Suffix { get; set; }
    public int? BestOf { get; set; }
    public string? User { get; set; }
    public int? TopK { get; set; }
    public double? MinP { get; set; }
    public double? RepetitionPenalty { get; set; }
}

/// <summary>A text completion, whole or one chunk of a stream: <c>{"object": "text_completion", ...}</c>.</summary>
internal sealed class TextCompletion
{
    public required string Id { get; init; }
    public string Object => "text_completion";
    public required long Created { get; init; }
    public required string Model { get; init; }
    public required List<TextCompletionChoice> Choices { get; init; }
    public UsageWire? Usage { get; init; }
}

/// <summary>One choice's text (in a chunk, the text it adds), and how it ended.</summary>
internal sealed class TextCompletionChoice
{
    public required string Text { get; init; }
    public int Index { get; init; }

    /// <summary>The tokens' log-probabilities when the request asked for them (<c>logprobs</c>); null otherwise.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.Never)]
    public TextLogprobsWire? Logprobs { get; init; }

    [JsonIgnore(Condition = JsonIgnoreCondition.Never)]
    public string? FinishReason { get; init; }
}

/// <summary>
/// The legacy completions' log-probabilities: per token its text, its log-probability, its most likely alternatives
/// (text to log-probability) and where it starts in the choice's text.
/// </summary>
internal sealed class TextLogprobsWire
{
    public required List<string> Tokens { get; init; }
    public required List<double> TokenLogprobs { get; init; }
    public required List<Dictionary<string, double>> TopLogprobs { get; init; }
    public required List<int> TextOffset { get; init; }
}
