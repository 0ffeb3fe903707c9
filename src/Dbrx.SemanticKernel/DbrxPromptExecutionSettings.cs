using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.SemanticKernel;

namespace Dbrx.SemanticKernel;

/// <summary>
/// Semantic Kernel settings for DBRX. The JSON names are Semantic Kernel's standard keys, so
/// <c>PromptExecutionSettings.ToChatOptions</c> maps them onto <c>ChatOptions</c> (temperature, top_p, top_k, seed,
/// max_tokens, penalties, stop_sequences, response_format); <c>min_p</c> and <c>repetition_penalty</c> travel in
/// <c>AdditionalProperties</c>, which <see cref="Dbrx.Extensions.AI.DbrxChatClient"/> reads.
/// </summary>
public sealed class DbrxPromptExecutionSettings : PromptExecutionSettings
{
    private double? temperature, topP, minP, repetitionPenalty, frequencyPenalty, presencePenalty;
    private int? topK, maxTokens;
    private long? seed;
    private IList<string>? stopSequences;
    private object? responseFormat;

    /// <summary>Sampling temperature; 0 is greedy.</summary>
    [JsonPropertyName("temperature")]
    public double? Temperature { get => temperature; set => Set(ref temperature, value); }

    /// <summary>Nucleus sampling mass.</summary>
    [JsonPropertyName("top_p")]
    public double? TopP { get => topP; set => Set(ref topP, value); }

    /// <summary>Sample among the K most likely tokens.</summary>
    [JsonPropertyName("top_k")]
    public int? TopK { get => topK; set => Set(ref topK, value); }

    /// <summary>Drop tokens below this fraction of the most likely token's probability.</summary>
    [JsonPropertyName("min_p")]
    public double? MinP { get => minP; set => Set(ref minP, value); }

    /// <summary>The reference's repetition penalty.</summary>
    [JsonPropertyName("repetition_penalty")]
    public double? RepetitionPenalty { get => repetitionPenalty; set => Set(ref repetitionPenalty, value); }

    /// <summary>OpenAI-style frequency penalty.</summary>
    [JsonPropertyName("frequency_penalty")]
    public double? FrequencyPenalty { get => frequencyPenalty; set => Set(ref frequencyPenalty, value); }

    /// <summary>OpenAI-style presence penalty.</summary>
    [JsonPropertyName("presence_penalty")]
    public double? PresencePenalty { get => presencePenalty; set => Set(ref presencePenalty, value); }

    /// <summary>Most tokens to generate.</summary>
    [JsonPropertyName("max_tokens")]
    public int? MaxTokens { get => maxTokens; set => Set(ref maxTokens, value); }

    /// <summary>Seed of the sampler.</summary>
    [JsonPropertyName("seed")]
    public long? Seed { get => seed; set => Set(ref seed, value); }

    /// <summary>Strings that end generation.</summary>
    [JsonPropertyName("stop_sequences")]
    public IList<string>? StopSequences { get => stopSequences; set => Set(ref stopSequences, value); }

    /// <summary><c>"text"</c>, <c>"json_object"</c>, or a JSON schema (as a <see cref="JsonElement"/> or a type).</summary>
    [JsonPropertyName("response_format")]
    public object? ResponseFormat { get => responseFormat; set => Set(ref responseFormat, value); }

    /// <summary>
    /// Converts any settings to DBRX settings: a JSON round trip of the standard keys, keeping the function choice
    /// behaviour, service id and model id.
    /// </summary>
    public static DbrxPromptExecutionSettings FromExecutionSettings(PromptExecutionSettings? settings)
    {
        switch (settings)
        {
            case null:
                return new DbrxPromptExecutionSettings();
            case DbrxPromptExecutionSettings dbrx:
                return dbrx;
        }
        string json = JsonSerializer.Serialize(settings);
        var result = JsonSerializer.Deserialize<DbrxPromptExecutionSettings>(json)!;
        result.FunctionChoiceBehavior = settings.FunctionChoiceBehavior;
        result.ServiceId = settings.ServiceId;
        result.ModelId = settings.ModelId;
        return result;
    }

    /// <inheritdoc/>
    public override PromptExecutionSettings Clone() => new DbrxPromptExecutionSettings
    {
        ModelId = ModelId,
        ServiceId = ServiceId,
        FunctionChoiceBehavior = FunctionChoiceBehavior,
        ExtensionData = ExtensionData is null ? null : new Dictionary<string, object>(ExtensionData),
        Temperature = Temperature,
        TopP = TopP,
        TopK = TopK,
        MinP = MinP,
        RepetitionPenalty = RepetitionPenalty,
        FrequencyPenalty = FrequencyPenalty,
        PresencePenalty = PresencePenalty,
        MaxTokens = MaxTokens,
        Seed = Seed,
        StopSequences = StopSequences is null ? null : [.. StopSequences],
        ResponseFormat = ResponseFormat,
    };

    /// <inheritdoc/>
    public override void Freeze()
    {
        if (IsFrozen)
            return;
        base.Freeze();
        if (stopSequences is not null)
            stopSequences = stopSequences.ToList().AsReadOnly();
    }

    private void Set<T>(ref T field, T value)
    {
        ThrowIfFrozen();
        field = value;
    }
}
