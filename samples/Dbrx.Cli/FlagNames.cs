using System.Text.RegularExpressions;

namespace Dbrx.Cli;

/// <summary>
/// The libraries' messages name their options (<c>MaxNewTokens</c>, <c>DbrxChatClientOptions.MaxBatchSize</c>); the
/// tool's user set them as flags. One table from each name to its flag, applied to every error the tool prints.
/// </summary>
internal static partial class FlagNames
{
    private static readonly Dictionary<string, string> Flags = new(StringComparer.Ordinal)
    {
        ["MaxNewTokens"] = "--max-new-tokens",
        ["Temperature"] = "--temperature",
        ["TopK"] = "--top-k",
        ["TopP"] = "--top-p",
        ["MinP"] = "--min-p",
        ["RepetitionPenalty"] = "--repetition-penalty",
        ["FrequencyPenalty"] = "--frequency-penalty",
        ["PresencePenalty"] = "--presence-penalty",
        ["StopTokenIds"] = "--stop-token-ids",
        ["LogitBias"] = "--logit-bias",
        ["TruncatePromptFromLeft"] = "--truncate",
        ["ContextLength"] = "--context-length",
        ["MaxBatchSize"] = "--max-batch-size",
        ["MaxQueuedRequests"] = "--max-queued-requests",
        ["DefaultMaxOutputTokens"] = "--default-max-tokens",
        ["ModelPath"] = "--model",
        ["Device"] = "--device",
        ["DType"] = "--dtype",
        ["AttentionImplementation"] = "--attention",
        ["Int4Modules"] = "--int4-modules",
        ["Int4GroupSize"] = "--int4-group-size",
        ["SystemPrompt"] = "--system-prompt",
        ["ModelId"] = "--model-id",
        ["Endpoint"] = "--kv-events",
        ["Topic"] = "--kv-events-topic",
    };

    /// <summary>The message with each option name (bare, or as <c>DbrxChatClientOptions.Name</c>) written as its flag.</summary>
    public static string Rewrite(string message) =>
        OptionName().Replace(message, match => Flags.TryGetValue(match.Groups["name"].Value, out string? flag) ? flag : match.Value);

    // Names that are also plain words (Device, Temperature) only as an option: prefixed, or followed by a quoted value.
    [GeneratedRegex(@"\bDbrx[A-Za-z]*Options\.(?<name>[A-Za-z0-9]+)\b|\b(?<name>MaxNewTokens|TopK|TopP|MinP|RepetitionPenalty|FrequencyPenalty|PresencePenalty|StopTokenIds|LogitBias|TruncatePromptFromLeft|ContextLength|MaxBatchSize|MaxQueuedRequests|DefaultMaxOutputTokens|Int4Modules|Int4GroupSize)\b|\b(?<name>Temperature|Device|DType)(?= '| must\b)")]
    private static partial Regex OptionName();
}
