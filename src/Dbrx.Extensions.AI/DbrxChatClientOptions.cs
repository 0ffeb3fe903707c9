using Dbrx.Inference.Configuration;
using Dbrx.Inference.Modeling;
using Dbrx.Inference.Quantization;
using Dbrx.Inference.Runtime;

namespace Dbrx.Extensions.AI;

/// <summary>
/// Options of a <see cref="DbrxChatClient"/>. Bound from the configuration section <c>"Dbrx"</c> by these names
/// (for example <c>Dbrx:ModelPath</c>, <c>Dbrx:Device</c>).
/// </summary>
public sealed class DbrxChatClientOptions
{
    /// <summary>The configuration section the options bind from by default.</summary>
    public const string SectionName = "Dbrx";

    /// <summary>Model folder: <c>config.json</c> and safetensors weights (one file or shards with an index). Required.</summary>
    public string? ModelPath { get; set; }

    /// <summary>
    /// <c>cpu</c>, <c>cuda</c>, <c>cuda:N</c>, <c>auto</c> (spread over the GPUs by free memory, then the CPU; the CPU
    /// alone without CUDA), or an explicit map such as <c>embedding=cuda:0,0-19=cuda:0,20-39=cuda:1,head=cuda:1</c>.
    /// </summary>
    public string Device { get; set; } = "auto";

    /// <summary>
    /// <c>auto</c>, <c>float32</c>, <c>bfloat16</c>, <c>float16</c> or <c>int4</c> (quantized while loading, see
    /// <see cref="Int4Modules"/> and <see cref="Int4GroupSize"/>); <c>auto</c> is the checkpoint's dtype on CUDA,
    /// float32 on the CPU. A pre-quantized checkpoint loads as int4 whatever this says.
    /// </summary>
    public string DType { get; set; } = "auto";

    /// <summary>With <see cref="DType"/> <c>int4</c>: the modules quantized, comma-separated: <c>experts</c> (always), <c>attention</c>, <c>lm_head</c>.</summary>
    public string Int4Modules { get; set; } = "experts";

    /// <summary>With <see cref="DType"/> <c>int4</c>: weights per scale and zero (32, 64, 128 or 256).</summary>
    public int Int4GroupSize { get; set; } = 128;

    /// <summary><c>sdpa</c> (default), <c>eager</c> or <c>flash_attention_2</c> (CUDA, half precision).</summary>
    public string AttentionImplementation { get; set; } = "sdpa";

    /// <summary>
    /// System prompt used when a conversation has none. Null means dbrx-instruct's own default prompt; an empty string
    /// means no system prompt at all.
    /// </summary>
    public string? SystemPrompt { get; set; }

    /// <summary>Most tokens per response when <c>ChatOptions.MaxOutputTokens</c> is not set.</summary>
    public int DefaultMaxOutputTokens { get; set; } = 1024;

    /// <summary>Load the model when the client is created instead of on the first request.</summary>
    public bool LoadEagerly { get; set; }

    /// <summary>The model id reported in responses and metadata; defaults to the model folder's name.</summary>
    public string? ModelId { get; set; }

    /// <summary>Requests decoded together in one forward pass.</summary>
    public int MaxBatchSize { get; set; } = 8;

    /// <summary>Requests that may wait for a batch slot before calls fail as busy.</summary>
    public int MaxQueuedRequests { get; set; } = 64;

    /// <summary>Tokens per conversation, prompt and answer (default: the model's max_seq_len capped at 4096).</summary>
    public int? ContextLength { get; set; }

    /// <summary>
    /// Prompt tokens prefilled per step; running answers keep streaming between the chunks of a long prompt (see
    /// <see cref="Inference.Generation.DbrxGeneratorOptions.PrefillChunkTokens"/>).
    /// </summary>
    public int PrefillChunkTokens { get; set; } = 512;

    /// <summary>
    /// Start a conversation from the keys and values a finished request left in the cache when it begins with the same
    /// tokens (the previous turn, the same system prompt and tools), prefilling only the rest; the reused tokens are
    /// reported as <c>UsageDetails.CachedInputTokenCount</c> (see
    /// <see cref="Inference.Generation.DbrxGeneratorOptions.ReusePromptPrefixes"/>).
    /// </summary>
    public bool ReusePromptPrefixes { get; set; } = true;

    /// <summary>
    /// When a conversation does not fit the context with room for a whole answer (<c>ChatOptions.MaxOutputTokens</c>,
    /// else <see cref="DefaultMaxOutputTokens"/>), leave out its oldest exchanges (a user message and the replies, tool
    /// calls and tool results after it) until it does; the system message and the latest user message always stay. The
    /// number left out is reported as <c>AdditionalProperties["dropped_messages"]</c> of the last update (of the answer
    /// message, in a collected response). Off by default: without it, a conversation that leaves no room for an answer
    /// fails with an error that names these options.
    /// </summary>
    public bool DropOldestMessages { get; set; }

    /// <summary>
    /// Drop the oldest prompt tokens when a conversation no longer fits the context, instead of failing. Off by
    /// default, because dropping tokens may cut the system prompt.
    /// </summary>
    public bool TruncatePromptFromLeft { get; set; }

    /// <summary>The model id in effect.</summary>
    public string EffectiveModelId => ModelId ?? (ModelPath is null ? "dbrx" : Path.GetFileName(Path.TrimEndingDirectorySeparator(Path.GetFullPath(ModelPath))));

    /// <summary>Throws <see cref="ArgumentException"/> naming the first option that cannot work.</summary>
    /// <param name="requireModel">Also check that the model folder exists and holds a config.</param>
    public void Validate(bool requireModel = true)
    {
        if (requireModel)
        {
            if (string.IsNullOrWhiteSpace(ModelPath))
                throw new ArgumentException($"DbrxChatClientOptions.ModelPath is required: set it to a model folder with config.json and safetensors weights (configuration key {SectionName}:ModelPath).");
            if (!Directory.Exists(ModelPath))
                throw new ArgumentException($"DbrxChatClientOptions.ModelPath '{ModelPath}' does not exist or is not a folder.");
            if (!File.Exists(Path.Combine(ModelPath, DbrxConfigJson.FileName)))
                throw new ArgumentException($"DbrxChatClientOptions.ModelPath '{ModelPath}' has no {DbrxConfigJson.FileName}; it must be a Hugging Face DBRX model folder.");
            DbrxConfig config = DbrxConfigJson.Load(ModelPath);
            ValidateDevice(config.NLayers);
            if (ContextLength > config.MaxSeqLen)
                throw new ArgumentException($"DbrxChatClientOptions.ContextLength {ContextLength} exceeds the model's max_seq_len of {config.MaxSeqLen}.");
        }
        if (DType is null || !DbrxDevices.DTypeNames.Contains(DType.Trim().ToLowerInvariant()))
            throw new ArgumentException($"DbrxChatClientOptions.DType '{DType}' is not a dtype; use one of: {string.Join(", ", DbrxDevices.DTypeNames)}.");
        try
        {
            DbrxQuantization.WithModules(Int4Modules ?? "", Int4GroupSize);
        }
        catch (ArgumentException e)
        {
            throw new ArgumentException($"DbrxChatClientOptions.Int4Modules '{Int4Modules}' or Int4GroupSize {Int4GroupSize}: {e.Message}", e);
        }
        if (!AttentionImplementations.Names.Contains(AttentionImplementation))
            throw new ArgumentException($"DbrxChatClientOptions.AttentionImplementation '{AttentionImplementation}' is not known; use one of: {string.Join(", ", AttentionImplementations.Names)}.");
        if (DefaultMaxOutputTokens < 1)
            throw new ArgumentException($"DbrxChatClientOptions.DefaultMaxOutputTokens must be at least 1, not {DefaultMaxOutputTokens}.");
        if (MaxBatchSize < 1)
            throw new ArgumentException($"DbrxChatClientOptions.MaxBatchSize must be at least 1, not {MaxBatchSize}.");
        if (MaxQueuedRequests < 0)
            throw new ArgumentException($"DbrxChatClientOptions.MaxQueuedRequests must be ≥ 0, not {MaxQueuedRequests}.");
        if (PrefillChunkTokens < 1)
            throw new ArgumentException($"DbrxChatClientOptions.PrefillChunkTokens must be at least 1, not {PrefillChunkTokens}.");
        if (ContextLength is < 2)
            throw new ArgumentException($"DbrxChatClientOptions.ContextLength must be at least 2, not {ContextLength}.");
        if (requireModel)
        {
            // What the loader would refuse minutes later (int4 on this shape, flash_attention_2 off CUDA, a batch whose
            // KV cache cannot fit), refused now, by the loader's own plan: no weight is read.
            try
            {
                DbrxModelLoader.Plan(ModelPath!, ToLoadOptions(DbrxConfigJson.Load(ModelPath!)));
            }
            catch (Exception e) when (e is ArgumentException or InvalidOperationException)
            {
                throw new ArgumentException($"DbrxChatClientOptions cannot load the model in '{ModelPath}' this way (Device {Device}, DType {DType}, AttentionImplementation {AttentionImplementation}, MaxBatchSize {MaxBatchSize}, ContextLength {ContextLength?.ToString() ?? "default"}): {e.Message}", e);
            }
        }
    }

    /// <summary>How the weights load: device "auto" and the memory check plan room for this client's batch and context.</summary>
    internal DbrxLoadOptions ToLoadOptions(DbrxConfig config) => new()
    {
        Device = Device,
        DType = DType,
        Int4Modules = Int4Modules,
        Int4GroupSize = Int4GroupSize,
        AttentionImplementation = AttentionImplementations.Parse(AttentionImplementation),
        PlanCacheRows = MaxBatchSize,
        PlanCacheTokens = ContextLength ?? config.DefaultContextLength,
    };

    /// <summary>A copy, so a client keeps the values it was created with.</summary>
    public DbrxChatClientOptions Clone() => (DbrxChatClientOptions)MemberwiseClone();

    /// <summary>
    /// The device through the parsers the loader uses (a map needs the model's block count): an unknown name, a missing
    /// GPU or an incomplete map fails here, when the client is created, rather than on the first request.
    /// </summary>
    private void ValidateDevice(int layers)
    {
        try
        {
            if (string.IsNullOrWhiteSpace(Device))
                throw new ArgumentException("it is empty.");
            if (Device.Contains('=', StringComparison.Ordinal))
                DbrxPlacement.Parse(Device, layers);
            else
                DbrxDevices.ParseDevice(Device);
        }
        catch (ArgumentException e)
        {
            throw new ArgumentException($"DbrxChatClientOptions.Device '{Device}' cannot be used: {e.Message} Use cpu, cuda, cuda:N, auto, or a map like embedding=cuda:0,0-19=cuda:0,20-39=cuda:1,head=cuda:1.", e);
        }
    }
}
