namespace Dbrx.Inference.Tokenization;

/// <summary>DBRX's special tokens: cl100k's own plus the three DBRX adds for its ChatML-style template.</summary>
public static class DbrxSpecialTokens
{
    /// <summary><c>&lt;|endoftext|&gt;</c>: DBRX's bos, eos and unk token.</summary>
    public const int EndOfText = 100257;

    /// <summary><c>&lt;|fim_prefix|&gt;</c>.</summary>
    public const int FimPrefix = 100258;

    /// <summary><c>&lt;|fim_middle|&gt;</c>.</summary>
    public const int FimMiddle = 100259;

    /// <summary><c>&lt;|fim_suffix|&gt;</c>.</summary>
    public const int FimSuffix = 100260;

    /// <summary><c>&lt;|endofprompt|&gt;</c>.</summary>
    public const int EndOfPrompt = 100276;

    /// <summary><c>&lt;|pad|&gt;</c>: DBRX's padding token.</summary>
    public const int Pad = 100277;

    /// <summary><c>&lt;|im_start|&gt;</c>: opens a chat turn.</summary>
    public const int ImStart = 100278;

    /// <summary><c>&lt;|im_end|&gt;</c>: closes a chat turn.</summary>
    public const int ImEnd = 100279;

    /// <summary>Every special token by its text.</summary>
    public static IReadOnlyDictionary<string, int> ByText { get; } = new Dictionary<string, int>
    {
        ["<|endoftext|>"] = EndOfText,
        ["<|fim_prefix|>"] = FimPrefix,
        ["<|fim_middle|>"] = FimMiddle,
        ["<|fim_suffix|>"] = FimSuffix,
        ["<|endofprompt|>"] = EndOfPrompt,
        ["<|pad|>"] = Pad,
        ["<|im_start|>"] = ImStart,
        ["<|im_end|>"] = ImEnd,
    };

    /// <summary>Tokens that end an assistant turn (dbrx-instruct's <c>generation_config.json</c> eos ids).</summary>
    public static IReadOnlySet<int> EndOfTurn { get; } = new HashSet<int> { EndOfText, ImEnd };
}
