using Dbrx.ConstrainedDecoding;
using Dbrx.Inference.Configuration;
using Dbrx.Inference.Generation;
using Dbrx.Inference.Loading;
using Dbrx.Inference.Modeling;
using Dbrx.Inference.Runtime;

namespace Dbrx.Extensions.AI;

/// <summary>
/// Options of a <see cref="DbrxChatClient"/>. Bound from the configuration section <c>"Dbrx"</c> by these names
/// (for example <c>Dbrx:ModelPath</c>, <c>Dbrx:Device</c>), so they are flat and written as text where the engine takes
/// typed values: <see cref="ToLoadOptions"/> and <see cref="ToServingOptions"/> are the one mapping to the engine's
/// <see cref="DbrxLoadOptions"/> and <see cref="DbrxGeneratorOptions"/>, whose defaults these take and whose checks
/// <see cref="Validate"/> runs.
/// </summary>
public sealed class DbrxChatClientOptions
{
    private static readonly DbrxLoadOptions LoadDefaults = new();
    private static readonly DbrxGeneratorOptions ServingDefaults = new();
    private static readonly JsonConstraintOptions ConstraintDefaults = new();

    /// <summary>The configuration section the options bind from by default.</summary>
    public const string SectionName = "Dbrx";

    /// <summary>Model folder: <c>config.json</c> and safetensors weights (one file or shards with an index). Required.</summary>
    public string? ModelPath { get; set; }

    /// <summary>
    /// <c>cpu</c>, <c>cuda</c>, <c>cuda:N</c>, <c>auto</c> (spread over the GPUs by free memory, then the CPU; the CPU
    /// alone without CUDA), or an explicit map such as <c>embedding=cuda:0,0-19=cuda:0,20-39=cuda:1,head=cuda:1</c>.
    /// </summary>
    public string Device { get; set; } = LoadDefaults.Device;

    /// <summary>
    /// <c>auto</c>, <c>float32</c>, <c>bfloat16</c>, <c>float16</c> or <c>int4</c> (quantized while loading, see
    /// <see cref="Int4Modules"/> and <see cref="Int4GroupSize"/>); <c>auto</c> is the checkpoint's dtype on CUDA,
    /// float32 on the CPU. A pre-quantized checkpoint loads as int4 whatever this says.
    /// </summary>
    public string DType { get; set; } = "auto";

    /// <summary>With <see cref="DType"/> <c>int4</c>: the modules quantized, comma-separated: <c>experts</c> (always), <c>attention</c>, <c>lm_head</c>.</summary>
    public string Int4Modules { get; set; } = string.Join(',', LoadDefaults.Int4.Modules);

    /// <summary>With <see cref="DType"/> <c>int4</c>: weights per scale and zero (32, 64, 128 or 256).</summary>
    public int Int4GroupSize { get; set; } = LoadDefaults.Int4.GroupSize;

    /// <summary><c>sdpa</c> (default), <c>eager</c> or <c>flash_attention_2</c> (CUDA, half precision).</summary>
    public string AttentionImplementation { get; set; } = LoadDefaults.AttentionImplementation.ToName();

    /// <summary>
    /// System prompt used when a conversation has none. Null means dbrx-instruct's own default prompt; an empty string
    /// means no system prompt at all.
    /// </summary>
    public string? SystemPrompt { get; set; }

    /// <summary>Most tokens per response when <c>ChatOptions.MaxOutputTokens</c> is not set.</summary>
    public int DefaultMaxOutputTokens { get; set; } = 1024;

    /// <summary>
    /// Load the model as soon as the host has started, in the background, instead of on the first request (registered
    /// with <c>AddDbrxChatClient</c>: a hosted service does it and logs the progress; <see cref="DbrxChatClient.ModelState"/>
    /// reports it). A client created without a host loads on <see cref="DbrxChatClient.LoadAsync"/> or its first request.
    /// </summary>
    public bool LoadEagerly { get; set; }

    /// <summary>The model id reported in responses and metadata; defaults to the model folder's name.</summary>
    public string? ModelId { get; set; }

    /// <summary>Requests decoded together in one forward pass.</summary>
    public int MaxBatchSize { get; set; } = ServingDefaults.MaxBatchSize;

    /// <summary>Requests that may wait for a batch slot before calls fail as busy.</summary>
    public int MaxQueuedRequests { get; set; } = ServingDefaults.MaxQueuedRequests;

    /// <summary>Tokens per conversation, prompt and answer (default: the model's max_seq_len capped at 4096).</summary>
    public int? ContextLength { get; set; }

    /// <summary>
    /// Prompt tokens prefilled per step; running answers keep streaming between the chunks of a long prompt (see
    /// <see cref="Inference.Generation.DbrxGeneratorOptions.PrefillChunkTokens"/>).
    /// </summary>
    public int PrefillChunkTokens { get; set; } = ServingDefaults.PrefillChunkTokens;

    /// <summary>
    /// Start a conversation from the keys and values a finished request left in the cache when it begins with the same
    /// tokens (the previous turn, the same system prompt and tools), prefilling only the rest; the reused tokens are
    /// reported as <c>UsageDetails.CachedInputTokenCount</c> (see
    /// <see cref="Inference.Generation.DbrxGeneratorOptions.ReusePromptPrefixes"/>).
    /// </summary>
    public bool ReusePromptPrefixes { get; set; } = ServingDefaults.ReusePromptPrefixes;

    /// <summary>Most answers one request may ask for (<see cref="DbrxChatOptionsExtensions.WithChoices"/>); each takes a batch row. Default 8.</summary>
    public int MaxChoices { get; set; } = 8;

    /// <summary>Tokens per block of the prefix cache (see <see cref="Inference.Generation.DbrxGeneratorOptions.PrefixBlockTokens"/>). Default 32.</summary>
    public int PrefixBlockTokens { get; set; } = ServingDefaults.PrefixBlockTokens;

    /// <summary>
    /// Memory for prefix-cache blocks on the model's devices, counted by the memory check (see
    /// <see cref="Inference.Generation.DbrxGeneratorOptions.PrefixCacheBytes"/>); 0 turns the block cache off. Default 1 GiB.
    /// </summary>
    public long PrefixCacheBytes { get; set; } = ServingDefaults.PrefixCacheBytes;

    /// <summary>Memory in the host for blocks displaced from the devices (see <see cref="Inference.Generation.DbrxGeneratorOptions.HostPrefixCacheBytes"/>). Default 0.</summary>
    public long HostPrefixCacheBytes { get; set; } = ServingDefaults.HostPrefixCacheBytes;

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

    /// <summary>
    /// In JSON output and tool-call arguments, allow properties a schema does not declare where the schema does not
    /// forbid them (JSON Schema's default, true). False generates only the declared properties of objects that
    /// declare some; objects that declare none (dictionaries, free-form objects) are unaffected.
    /// </summary>
    public bool AllowUndeclaredJsonProperties { get; set; } = true;

    /// <summary>
    /// Leave out message content DBRX cannot read (images, audio, PDFs and other binary data, links to files) with a
    /// logged warning, instead of failing the request with an error that names the content's media type (the
    /// default). Text attachments (text/*, JSON, XML, YAML) are always read.
    /// </summary>
    public bool SkipUnreadableContent { get; set; }

    /// <summary>
    /// Memory kept for reuse by JSON output and tool calls, in bytes: compiled schemas with their states and token
    /// masks, and pattern and number automata; least recently used first out (see
    /// <see cref="JsonConstraintOptions.CacheBytes"/>). Default 256 MiB.
    /// </summary>
    public long JsonCacheBytes { get; set; } = ConstraintDefaults.CacheBytes;

    /// <summary>Memory one compiled schema may hold while in use (see <see cref="JsonConstraintOptions.MaxGrammarBytes"/>). Default 64 MiB.</summary>
    public long MaxJsonGrammarBytes { get; set; } = ConstraintDefaults.MaxGrammarBytes;

    /// <summary>
    /// Automaton states one response or tool schema may need to compile; a schema that needs more is refused naming
    /// the keyword and path (see <see cref="JsonConstraintOptions.MaxSchemaStates"/>). Default 200,000.
    /// </summary>
    public int MaxSchemaStates { get; set; } = ConstraintDefaults.MaxSchemaStates;

    /// <summary>Memory one schema's compilation may build (see <see cref="JsonConstraintOptions.MaxSchemaBytes"/>). Default 64 MiB.</summary>
    public long MaxSchemaBytes { get; set; } = ConstraintDefaults.MaxSchemaBytes;

    /// <summary>How long one schema may take to compile (see <see cref="JsonConstraintOptions.MaxSchemaCompileTime"/>). Default 10 seconds.</summary>
    public TimeSpan MaxSchemaCompileTime { get; set; } = ConstraintDefaults.MaxSchemaCompileTime;

    /// <summary>The model id in effect.</summary>
    public string EffectiveModelId => ModelId ?? (ModelPath is null ? "dbrx" : Path.GetFileName(Path.TrimEndingDirectorySeparator(Path.GetFullPath(ModelPath))));

    /// <summary>Throws <see cref="ArgumentException"/> naming the first option that cannot work.</summary>
    /// <param name="requireModel">Also check the model folder, and everything loading would refuse, by the loader's own plan (no weight is read).</param>
    public void Validate(bool requireModel = true)
    {
        DbrxConfig? config = null;
        if (requireModel)
        {
            if (string.IsNullOrWhiteSpace(ModelPath))
                throw new ArgumentException($"DbrxChatClientOptions.ModelPath is required: set it to a model folder with config.json and safetensors weights (configuration key {SectionName}:ModelPath).");
            if (!Directory.Exists(ModelPath))
                throw new ArgumentException($"DbrxChatClientOptions.ModelPath '{ModelPath}' does not exist or is not a folder.");
            if (!File.Exists(Path.Combine(ModelPath, DbrxConfigJson.FileName)))
                throw new ArgumentException($"DbrxChatClientOptions.ModelPath '{ModelPath}' has no {DbrxConfigJson.FileName}; it must be a Hugging Face DBRX model folder.");
            config = DbrxConfigJson.Load(ModelPath);
            ValidateDevice(config.NLayers);
        }
        if (MaxChoices < 1)
            throw new ArgumentException($"DbrxChatClientOptions.MaxChoices must be at least 1, not {MaxChoices}.");
        if (DefaultMaxOutputTokens < 1)
            throw new ArgumentException($"DbrxChatClientOptions.DefaultMaxOutputTokens must be at least 1, not {DefaultMaxOutputTokens}.");
        // The engine's own checks, named as these options are.
        DbrxLoadOptions load = Named(() => ToLoadOptions(config));
        Named(() => ToServingOptions(ContextLength).Validate(config?.MaxSeqLen ?? int.MaxValue));
        Named(() => ToJsonConstraintOptions().Validate());
        if (config is not null)
        {
            // What the loader would refuse minutes later (int4 on this shape, flash_attention_2 off CUDA, a batch whose
            // KV cache cannot fit), refused now, by the loader's own plan: no weight is read.
            try
            {
                DbrxModelLoader.Plan(ModelPath!, load);
            }
            catch (Exception e) when (e is ArgumentException or InvalidOperationException)
            {
                throw new ArgumentException($"DbrxChatClientOptions cannot load the model in '{ModelPath}' this way (Device {Device}, DType {DType}, AttentionImplementation {AttentionImplementation}, MaxBatchSize {MaxBatchSize}, ContextLength {ContextLength?.ToString() ?? "default"}): {e.Message}", e);
            }
        }
    }

    /// <summary>
    /// How the weights load, with the text options parsed: device "auto" and the memory check plan room for this client's
    /// batch and context (of <paramref name="config"/>'s model, when given).
    /// </summary>
    /// <exception cref="ArgumentException">A dtype, int4 module list or group size, or attention implementation that does not parse.</exception>
    public DbrxLoadOptions ToLoadOptions(DbrxConfig? config = null) => new()
    {
        Device = Device,
        DType = Parsed(nameof(DType), DType, DbrxDTypes.Parse),
        Int4 = Parsed(nameof(Int4Modules), Int4Modules, modules => DbrxQuantization.WithModules(modules ?? "", Int4GroupSize)),
        AttentionImplementation = Parsed(nameof(AttentionImplementation), AttentionImplementation, name => AttentionImplementations.Parse(name ?? "")),
        PlanCacheRows = MaxBatchSize,
        PlanCacheTokens = ContextLength ?? config?.DefaultContextLength,
        PlanPrefixCacheBytes = ReusePromptPrefixes ? PrefixCacheBytes : 0,
    };

    /// <summary>How the generator serves this client's requests, for a context of <paramref name="contextLength"/> tokens.</summary>
    public DbrxGeneratorOptions ToServingOptions(int? contextLength) => new()
    {
        MaxBatchSize = MaxBatchSize,
        MaxQueuedRequests = MaxQueuedRequests,
        ContextLength = contextLength,
        PrefillChunkTokens = PrefillChunkTokens,
        ReusePromptPrefixes = ReusePromptPrefixes,
        PrefixBlockTokens = PrefixBlockTokens,
        PrefixCacheBytes = PrefixCacheBytes,
        HostPrefixCacheBytes = HostPrefixCacheBytes,
    };

    /// <summary>What JSON output and tool calls may spend: the cache and the limits of one schema's compilation.</summary>
    public JsonConstraintOptions ToJsonConstraintOptions() => new()
    {
        CacheBytes = JsonCacheBytes,
        MaxGrammarBytes = MaxJsonGrammarBytes,
        MaxSchemaStates = MaxSchemaStates,
        MaxSchemaBytes = MaxSchemaBytes,
        MaxSchemaCompileTime = MaxSchemaCompileTime,
    };

    private static T Parsed<T>(string option, string? value, Func<string?, T> parse)
    {
        try
        {
            return parse(value);
        }
        catch (ArgumentException e)
        {
            throw new ArgumentException($"DbrxChatClientOptions.{option} '{value}': {e.Message}", e);
        }
    }

    /// <summary>Runs an engine check and names the option as these options call it.</summary>
    private static T Named<T>(Func<T> check)
    {
        try
        {
            return check();
        }
        catch (ArgumentException e) when (!e.Message.StartsWith("DbrxChatClientOptions.", StringComparison.Ordinal))
        {
            throw new ArgumentException($"DbrxChatClientOptions.{e.Message}", e);
        }
    }

    private static void Named(Action check) => Named(() =>
    {
        check();
        return 0;
    });

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
            string reason = e.ParamName is { } name ? e.Message.Replace($" (Parameter '{name}')", "", StringComparison.Ordinal) : e.Message;
            throw new ArgumentException($"DbrxChatClientOptions.Device '{Device}' cannot be used: {reason.TrimEnd('.')} (or a map like embedding=cuda:0,0-19=cuda:0,20-39=cuda:1,head=cuda:1).", e);
        }
    }
}
