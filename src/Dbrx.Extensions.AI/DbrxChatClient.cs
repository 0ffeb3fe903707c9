using System.Diagnostics.Metrics;
using System.Runtime.CompilerServices;
using Dbrx.ConstrainedDecoding;
using Dbrx.Inference.Checkpoints;
using Dbrx.Inference.Generation;
using Dbrx.Inference.Tokenization;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Logging;

namespace Dbrx.Extensions.AI;

/// <summary>
/// DBRX, in-process, as a Microsoft.Extensions.AI <see cref="IChatClient"/>: streaming and non-streaming responses
/// (one code path), tool calls (see <see cref="ToolCallProtocol"/>), JSON and JSON-schema output guaranteed by
/// constrained decoding, usage and finish reasons. Register it with <c>services.AddDbrxChatClient(...)</c>.
/// </summary>
/// <remarks>
/// Thread-safe: concurrent requests are batched by the engine. The model loads on the first request, by
/// <see cref="LoadAsync"/> (for warm-up, with progress), or, registered with <see cref="DbrxChatClientOptions.LoadEagerly"/>,
/// once the host has started; <see cref="ModelState"/> says where it is. Cancelling a request throws
/// <see cref="OperationCanceledException"/> and frees its place in the batch at once. A full queue throws
/// <see cref="DbrxChatBusyException"/>, a conversation beyond the context <see cref="DbrxChatContextLengthException"/>.
/// Function invocation is left to <c>FunctionInvokingChatClient</c> (<c>.UseFunctionInvocation()</c>) or Semantic Kernel.
/// </remarks>
public sealed class DbrxChatClient : IChatClient
{
    /// <summary>
    /// The name of the meter the client publishes its JSON-schema cache figures on (<c>dbrx.json_cache.hits</c>,
    /// <c>.misses</c>, <c>.evictions</c>, <c>.size</c>); the engine's own are on <see cref="DbrxGenerator.MeterName"/>.
    /// </summary>
    public const string MeterName = "Dbrx.Extensions.AI";

    /// <summary>The meters of a client and its engine (<see cref="MeterName"/> and <see cref="DbrxGenerator.MeterName"/>), for an exporter.</summary>
    public static IReadOnlyList<string> MeterNames { get; } = [MeterName, DbrxGenerator.MeterName];

    private readonly IDbrxEngine engine;
    private readonly bool ownsEngine;
    private readonly DbrxChatClientOptions options;
    private readonly ChatClientMetadata metadata;
    private readonly ILogger? logger;
    private readonly JsonConstraintCompiler constraints;
    private readonly Meter meter;
    private volatile DbrxModelState state;
    private volatile string? loadError;

    /// <summary>Creates a client that owns its model, loaded from <see cref="DbrxChatClientOptions.ModelPath"/> when first needed.</summary>
    /// <param name="options">The options; validated here (the model folder and its config are read).</param>
    /// <param name="loggerFactory">Where loading logs its start and end (the DI registration passes the application's).</param>
    /// <param name="meterFactory">Where the client's and the engine's meters come from (the DI registration passes the application's).</param>
    /// <exception cref="ArgumentException">The options are invalid (the message names the option).</exception>
    public DbrxChatClient(DbrxChatClientOptions options, ILoggerFactory? loggerFactory = null, IMeterFactory? meterFactory = null)
        : this(CreateEngine(options, loggerFactory, meterFactory), options, ownsEngine: true, loggerFactory, meterFactory)
    {
    }

    /// <summary>Creates a client over an engine, for example a <see cref="DbrxGenerator"/> shared with other code.</summary>
    /// <param name="engine">The engine.</param>
    /// <param name="options">Client options (the model fields are not used).</param>
    /// <param name="ownsEngine">Dispose the engine with the client.</param>
    /// <param name="loggerFactory">Where warnings go (content left out with <see cref="DbrxChatClientOptions.SkipUnreadableContent"/>).</param>
    /// <param name="meterFactory">Where the client's meter comes from.</param>
    public DbrxChatClient(IDbrxEngine engine, DbrxChatClientOptions? options = null, bool ownsEngine = false, ILoggerFactory? loggerFactory = null, IMeterFactory? meterFactory = null)
    {
        logger = loggerFactory?.CreateLogger<DbrxChatClient>();
        ArgumentNullException.ThrowIfNull(engine);
        this.options = (options ?? new DbrxChatClientOptions()).Clone();
        this.options.Validate(requireModel: false);
        this.engine = engine;
        this.ownsEngine = ownsEngine;
        state = engine.IsLoaded ? DbrxModelState.Loaded : DbrxModelState.NotLoaded;
        Uri? location = this.options.ModelPath is { } path ? new Uri(Path.GetFullPath(path)) : null;
        metadata = new ChatClientMetadata("dbrx", location, this.options.EffectiveModelId);
        constraints = new JsonConstraintCompiler(engine.Tokenizer, this.options.ToJsonConstraintOptions());
        meter = meterFactory?.Create(MeterName) ?? new Meter(MeterName);
        meter.CreateObservableCounter("dbrx.json_cache.hits", () => constraints.Statistics.Hits, "{lookup}", "Compiled schemas, pattern and number automata and key literals found in the JSON-schema cache.");
        meter.CreateObservableCounter("dbrx.json_cache.misses", () => constraints.Statistics.Misses, "{lookup}", "Lookups in the JSON-schema cache that had to compile what they asked for.");
        meter.CreateObservableCounter("dbrx.json_cache.evictions", () => constraints.Statistics.Evictions, "{entry}", "Entries dropped from the JSON-schema cache to stay within its budget (JsonCacheBytes).");
        meter.CreateObservableGauge("dbrx.json_cache.size", () => constraints.Statistics.Bytes, "By", "Memory the JSON-schema cache holds (an estimate): compiled schemas with their states and token masks, automata.");
    }

    private static IDbrxEngine CreateEngine(DbrxChatClientOptions options, ILoggerFactory? loggerFactory, IMeterFactory? meterFactory)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        return new LazyDbrxEngine(options.Clone(), loggerFactory?.CreateLogger<DbrxChatClient>(), meterFactory);
    }

    /// <summary>Whether the model is loaded (always, for a client over an engine it was given loaded).</summary>
    public bool IsLoaded => engine.IsLoaded;

    /// <summary>Where the model is: not loaded, loading, loaded, or failed to load (what a readiness probe reports).</summary>
    public DbrxModelState ModelState => engine.IsLoaded ? DbrxModelState.Loaded : state;

    /// <summary>Why the last load failed, with <see cref="DbrxModelState.Failed"/>; null otherwise.</summary>
    public string? LoadError => ModelState == DbrxModelState.Failed ? loadError : null;

    /// <summary>What the engine is doing now: waiting and running requests, batch rows, KV cache use.</summary>
    public DbrxEngineStatistics EngineStatistics => engine.Statistics;

    /// <summary>
    /// Loads the model now, unless it is loaded: for warm-up at start-up and readiness checks. The first request calls it
    /// too. Concurrent calls share one load. Cancelling stops the load between tensors and keeps nothing; a later call
    /// starts again.
    /// </summary>
    /// <param name="progress">Receives the progress after each tensor.</param>
    /// <param name="cancellationToken">Stops the load.</param>
    /// <exception cref="OperationCanceledException">The load was cancelled.</exception>
    public async Task LoadAsync(IProgress<DbrxTensorProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        if (engine.IsLoaded)
            return;
        state = DbrxModelState.Loading;
        try
        {
            await engine.LoadAsync(progress, cancellationToken).ConfigureAwait(false);
            state = DbrxModelState.Loaded;
        }
        catch (OperationCanceledException)
        {
            state = DbrxModelState.NotLoaded;
            throw;
        }
        catch (Exception e)
        {
            loadError = e.Message;
            state = DbrxModelState.Failed;
            throw;
        }
    }

    /// <inheritdoc/>
    /// <remarks>
    /// The response is the stream's updates put together: with several choices, one assistant message per choice, in
    /// order; log-probabilities, when asked for, are all of them in order.
    /// </remarks>
    public async Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
    {
        var updates = new List<ChatResponseUpdate>();
        await foreach (ChatResponseUpdate update in GetStreamingResponseAsync(messages, options, cancellationToken).WithCancellation(cancellationToken))
            updates.Add(update);
        // Choices stream interleaved; each one's updates together make its message (the usage, last, belongs to none).
        updates = [.. updates.OrderBy(u => u.MessageId is null ? int.MaxValue : u.GetChoiceIndex())];
        ChatResponse response = updates.ToChatResponse();
        List<DbrxChatTokenLogProbability> logProbabilities = [.. updates.SelectMany(u => u.GetLogProbabilities())];
        if (logProbabilities.Count > 0)
            (response.AdditionalProperties ??= [])[DbrxChatOptionsExtensions.LogProbabilitiesKey] = logProbabilities;
        return response;
    }

    /// <inheritdoc/>
    public IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(messages);
        return Stream(messages, options, cancellationToken);
    }

    private async IAsyncEnumerable<ChatResponseUpdate> Stream(IEnumerable<ChatMessage> messages, ChatOptions? chatOptions, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        DbrxChatRequest request = DbrxChatMapper.Map(messages, chatOptions, options, engine, constraints, this, logger, cancellationToken);
        if (!engine.IsLoaded)
            await LoadAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
        IAsyncEnumerable<ChatResponseUpdate> Choice(int index, CancellationToken token)
        {
            // With a seed, each choice's own: the same request gives the same choices, and the choices differ.
            DbrxGenerationOptions generation = request.Options.Seed is { } seed ? request.Options with { Seed = seed + index } : request.Options;
            IAsyncEnumerable<GenerationUpdate> generated = EngineErrors.Translated(() => engine.GenerateStreamingAsync(request.PromptTokenIds, generation, token), token);
            return DbrxChatMapper.ToUpdates(generated, request, metadata.DefaultModelId, engine.Tokenizer, token);
        }
        IAsyncEnumerable<ChatResponseUpdate> updates = request.Choices == 1 ? Choice(0, cancellationToken) : ChatChoices.StreamAsync(request.Choices, Choice, cancellationToken);
        await foreach (ChatResponseUpdate update in updates.WithCancellation(cancellationToken))
            yield return update;
    }

    /// <summary>Tokens per conversation, prompt and answer together (<see cref="DbrxChatClientOptions.ContextLength"/>, else the model's default).</summary>
    public int ContextLength => engine.ContextLength;

    /// <summary>
    /// The length in tokens of the prompt a request with these messages and options renders to: the system turn (with
    /// the instructions, tools and response format), the conversation and the generation prompt, counted before
    /// <see cref="DbrxChatClientOptions.DropOldestMessages"/> would leave anything out. An application that puts
    /// retrieved text into a conversation uses it with <see cref="ContextLength"/> to keep the prompt and the answer
    /// within the context. Loads no model.
    /// </summary>
    /// <param name="messages">The conversation.</param>
    /// <param name="options">The request's options; tools, tool mode, instructions and response format change the system turn.</param>
    public int CountPromptTokens(IEnumerable<ChatMessage> messages, ChatOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(messages);
        return DbrxChatMapper.CountPromptTokens(messages, options, this.options, engine);
    }

    /// <summary>
    /// The token ids of the prompt a request with these messages and options renders to, as <see cref="CountPromptTokens"/>
    /// counts them: what the engine prefills (unless <see cref="DbrxChatClientOptions.DropOldestMessages"/> leaves
    /// messages out), so a router can hash its prefix-cache blocks as the engine will. Loads no model.
    /// </summary>
    /// <param name="messages">The conversation.</param>
    /// <param name="options">The request's options; tools, tool mode, instructions and response format change the system turn.</param>
    public int[] RenderPromptTokenIds(IEnumerable<ChatMessage> messages, ChatOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(messages);
        return DbrxChatMapper.RenderPromptTokenIds(messages, options, this.options, engine);
    }

    /// <inheritdoc/>
    public object? GetService(Type serviceType, object? serviceKey = null)
    {
        ArgumentNullException.ThrowIfNull(serviceType);
        if (serviceKey is not null)
            return null;
        if (serviceType == typeof(ChatClientMetadata))
            return metadata;
        if (serviceType == typeof(DbrxChatClientOptions))
            return options.Clone();
        if (serviceType == typeof(DbrxTokenizer))
            return engine.Tokenizer;
        if (serviceType == typeof(JsonConstraintCompiler))
            return constraints;
        if (serviceType == typeof(DbrxGenerator))
            return engine as DbrxGenerator ?? (engine as LazyDbrxEngine)?.Loaded; // never loads: null until loaded
        if (serviceType.IsInstanceOfType(engine))
            return engine;
        return serviceType.IsInstanceOfType(this) ? this : null;
    }

    /// <summary>Frees the model and its KV cache if the client owns them.</summary>
    public void Dispose()
    {
        meter.Dispose();
        if (ownsEngine)
            engine.Dispose();
    }
}
