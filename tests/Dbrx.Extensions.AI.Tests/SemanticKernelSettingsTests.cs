using Dbrx.SemanticKernel;
using Microsoft.Extensions.AI;
using Microsoft.SemanticKernel;

namespace Dbrx.Extensions.AI.Tests;

public sealed class SemanticKernelSettingsTests
{
    [Fact]
    public void Settings_map_to_chat_options_by_semantic_kernels_standard_keys()
    {
        var settings = new DbrxPromptExecutionSettings
        {
            Temperature = 0.2,
            TopP = 0.9,
            TopK = 20,
            MaxTokens = 50,
            Seed = 7,
            FrequencyPenalty = 0.1,
            PresencePenalty = 0.2,
            StopSequences = ["STOP"],
            MinP = 0.05,
            RepetitionPenalty = 1.2,
            ResponseFormat = "json_object",
        };
        ChatOptions options = settings.ToChatOptions(new Kernel())!;
        Assert.Equal(0.2f, options.Temperature);
        Assert.Equal(0.9f, options.TopP);
        Assert.Equal(20, options.TopK);
        Assert.Equal(50, options.MaxOutputTokens);
        Assert.Equal(7, options.Seed);
        Assert.Equal(0.1f, options.FrequencyPenalty!.Value, 5);
        Assert.Equal(0.2f, options.PresencePenalty!.Value, 5);
        Assert.Equal(["STOP"], options.StopSequences);
        Assert.IsType<ChatResponseFormatJson>(options.ResponseFormat);
        Assert.True(options.AdditionalProperties!.ContainsKey("min_p"));
        Assert.True(options.AdditionalProperties.ContainsKey("repetition_penalty"));
    }

    [Fact]
    public void From_execution_settings_round_trips_and_keeps_the_function_choice()
    {
        var generic = new PromptExecutionSettings
        {
            ServiceId = "local",
            FunctionChoiceBehavior = FunctionChoiceBehavior.Auto(),
            ExtensionData = new Dictionary<string, object> { ["temperature"] = 0.4, ["max_tokens"] = 12, ["repetition_penalty"] = 1.05 },
        };
        var dbrx = DbrxPromptExecutionSettings.FromExecutionSettings(generic);
        Assert.Equal(0.4, dbrx.Temperature);
        Assert.Equal(12, dbrx.MaxTokens);
        Assert.Equal(1.05, dbrx.RepetitionPenalty);
        Assert.Equal("local", dbrx.ServiceId);
        Assert.Same(generic.FunctionChoiceBehavior, dbrx.FunctionChoiceBehavior);
        Assert.Same(dbrx, DbrxPromptExecutionSettings.FromExecutionSettings(dbrx));
    }

    [Fact]
    public void Clone_copies_and_freeze_locks()
    {
        var settings = new DbrxPromptExecutionSettings { Temperature = 0.5, StopSequences = ["x"] };
        var clone = (DbrxPromptExecutionSettings)settings.Clone();
        Assert.Equal(0.5, clone.Temperature);
        Assert.NotSame(settings.StopSequences, clone.StopSequences);
        settings.Freeze();
        Assert.Throws<InvalidOperationException>(() => settings.Temperature = 1);
        clone.Temperature = 1;
        Assert.Equal(1, clone.Temperature);
    }
}
