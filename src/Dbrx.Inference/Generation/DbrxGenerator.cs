using System.Diagnostics.Metrics;
using System.Globalization;
using System.Runtime.CompilerServices;
using Dbrx.Inference.Chat;
using Dbrx.Inference.Modeling;
using Dbrx.Inference.Tokenization;

namespace Dbrx.Inference.Generation;

/// <summary>
/// Serves generation requests on one model from many callers. A dedicated worker thread owns the model (TorchSharp's
/// dispose scopes and grad mode are per thread); callers enqueue requests and read their tokens from a channel.
/// Each decode step runs every active sequence in one forward pass over a shared static KV cache: each sequence has
/// its own cache row and position, a finished one leaves the batch and a waiting one joins once its prompt is
/// prefilled into the next free row, <see cref="DbrxGeneratorOptions.PrefillChunkTokens"/> tokens per step, so the
/// running sequences keep decoding between the chunks of a long prompt; short prompts waiting together are
/// prefilled in one pass. A finished sequence's keys and values stay in its free row, and a prompt that starts with the
/// same tokens as a kept or running sequence continues from a copy of them
/// (<see cref="DbrxGeneratorOptions.ReusePromptPrefixes"/>).
/// </summary>
/// <remarks>
/// Thread-safe. Requests beyond <see cref="DbrxGeneratorOptions.MaxQueuedRequests"/> waiting ones fail at once with
/// <see cref="DbrxBusyException"/>. Each request's updates are buffered, so a slow reader never stalls the others.
/// Cancellation is checked before each prompt chunk and before every decode step; a cancelled request ends with
/// <see cref="GenerationFinishReason.Cancelled"/> and its cache row is reused.
/// </remarks>
public sealed class DbrxGenerator : IDbrxEngine
{
    /// <summary>
    /// The name of the meter a generator publishes its gauges on (<c>dbrx.engine.waiting_requests</c>,
    /// <c>dbrx.engine.running_requests</c>, <c>dbrx.engine.kv_cache_usage</c>): add it to an OpenTelemetry meter
    /// provider to export them.
    /// </summary>
    public const string MeterName = "Dbrx.Inference";

    private readonly Meter meter;
    private readonly DbrxKvCache cache;
    private readonly bool ownsModel;
    // Callers add requests to the queue; the scheduler's thread takes them and runs them step by step, in the cache
    // rows that its CacheRowPlan gives them.
    private readonly RequestQueue queue;
    private readonly BatchScheduler scheduler;
    private readonly PrefixCache.PrefixCache? prefixCache;

    /// <summary>Allocates the KV cache and starts the worker thread.</summary>
    /// <param name="model">The model; the generator runs it on its own thread from now on.</param>
    /// <param name="tokenizer">Decodes the output; also encodes chat prompts.</param>
    /// <param name="options">Batch size, queue length and context length.</param>
    /// <param name="ownsModel">Dispose the model with the generator.</param>
    /// <param name="meterFactory">Where its meter (<see cref="MeterName"/>) comes from; a meter of its own when null.</param>
    public DbrxGenerator(DbrxForCausalLM model, DbrxTokenizer tokenizer, DbrxGeneratorOptions? options = null, bool ownsModel = false, IMeterFactory? meterFactory = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(tokenizer);
        Options = options ?? new DbrxGeneratorOptions();
        Options.Validate(model.Config.MaxSeqLen);
        Model = model;
        Tokenizer = tokenizer;
        this.ownsModel = ownsModel;
        ContextLength = Options.ContextLength ?? model.Config.DefaultContextLength;
        cache = model.CreateCache(Options.MaxBatchSize, ContextLength);
        queue = new RequestQueue(Options.MaxQueuedRequests);
        prefixCache = PrefixCache.PrefixCache.Create(model, Options, RaiseKvCacheChanged);
        scheduler = new BatchScheduler(model, cache, queue, Options, prefixCache);
        meter = meterFactory?.Create(MeterName) ?? new Meter(MeterName);
        meter.CreateObservableGauge("dbrx.engine.waiting_requests", () => WaitingRequests, "{request}", "Requests waiting for a batch row.");
        meter.CreateObservableGauge("dbrx.engine.running_requests", () => RunningRequests, "{request}", "Batch rows in use by requests, the prompt being prefilled included.");
        meter.CreateObservableGauge("dbrx.engine.kv_cache_usage", () => Statistics.KvCacheUsage, "1", "The share of the KV cache's positions that running requests hold, 0 to 1.");
        meter.CreateObservableCounter("dbrx.engine.prefix_cache.queries", () => scheduler.PromptTokensQueried, "{token}", "Prompt tokens looked up in the cache (kept rows and prefix blocks).");
        meter.CreateObservableCounter("dbrx.engine.prefix_cache.hits", () => scheduler.PromptTokensCached, "{token}", "Prompt tokens found in the cache and not computed again.");
        meter.CreateObservableGauge("dbrx.engine.prefix_cache.blocks", () => prefixCache?.DeviceBlocks ?? 0, "{block}", "Prefix-cache blocks held on the model's devices.");
        meter.CreateObservableGauge("dbrx.engine.prefix_cache.host_blocks", () => prefixCache?.HostBlocks ?? 0, "{block}", "Prefix-cache blocks held in host memory.");
        // An info gauge, as vLLM's cache_config_info: the figures are its attributes, fixed for the engine's life. A router
        // (llm-d's endpoint picker) reads the block size its prefix hashes must use and how many blocks each replica holds.
        KeyValuePair<string, object?>[] cacheConfig =
        [
            new("block_size", (prefixCache?.BlockTokens ?? Options.PrefixBlockTokens).ToString(CultureInfo.InvariantCulture)),
            new("num_gpu_blocks", (prefixCache?.DeviceSlots ?? 0).ToString(CultureInfo.InvariantCulture)),
            new("num_cpu_blocks", (prefixCache?.HostSlots ?? 0).ToString(CultureInfo.InvariantCulture)),
        ];
        meter.CreateObservableGauge("dbrx.engine.cache_config_info", () => new Measurement<int>(1, cacheConfig), "1",
            "Always 1; its attributes are the prefix cache's configuration: block_size (tokens per block), num_gpu_blocks and num_cpu_blocks (blocks the device and host tiers can hold).");
    }

    /// <summary>
    /// The blocks the prefix cache gained and lost, after each change, raised on the worker thread: a handler must be
    /// quick (hand the events to a queue), and an exception it throws is dropped so that generation goes on.
    /// </summary>
    public event EventHandler<DbrxKvCacheChangedEventArgs>? KvCacheChanged;

    /// <summary>The model this generator runs.</summary>
    public DbrxForCausalLM Model { get; }

    /// <summary>The tokenizer used for output text and chat prompts.</summary>
    public DbrxTokenizer Tokenizer { get; }

    /// <summary>The serving options.</summary>
    public DbrxGeneratorOptions Options { get; }

    /// <summary>Tokens per sequence, prompt and output together.</summary>
    public int ContextLength { get; }

    /// <inheritdoc/>
    public int VocabularySize => Model.Config.VocabSize;

    /// <summary>Requests waiting for a batch row, at this moment (for monitoring: a server's queue-length gauge).</summary>
    public int WaitingRequests => queue.Count;

    /// <summary>
    /// Batch rows in use by requests, the prompt being prefilled included, as of the worker's last step (for monitoring).
    /// A finished or cancelled request's row counts until the worker's next step frees it.
    /// </summary>
    public int RunningRequests => scheduler.RowsInUse;

    /// <inheritdoc/>
    public DbrxEngineStatistics Statistics => new(
        WaitingRequests, RunningRequests, Options.MaxBatchSize, (double)scheduler.PositionsHeld / ((long)cache.Rows * cache.Capacity))
    {
        PrefixCacheQueries = scheduler.PromptTokensQueried,
        PrefixCacheHits = scheduler.PromptTokensCached,
        PrefixCacheBlocks = prefixCache?.DeviceBlocks ?? 0,
        PrefixCacheCapacity = prefixCache?.DeviceSlots ?? 0,
        HostPrefixCacheBlocks = prefixCache?.HostBlocks ?? 0,
        PrefixBlockTokens = prefixCache?.BlockTokens ?? 0,
    };

    private void RaiseKvCacheChanged(IReadOnlyList<DbrxKvCacheEvent> events)
    {
        try
        {
            KvCacheChanged?.Invoke(this, new DbrxKvCacheChangedEventArgs(events));
        }
        catch (Exception)
        {
            // A subscriber's failure (a full queue, a closed socket) must not end the requests this step serves.
        }
    }

    /// <summary>
    /// Starts generating from prompt token ids and streams the result. Options are validated and the request queued
    /// before this returns, so invalid input throws here, before any work.
    /// </summary>
    /// <exception cref="ArgumentException">Invalid options, an id outside the model's vocabulary, or a prompt too long for the context.</exception>
    /// <exception cref="DbrxBusyException">Too many requests are waiting.</exception>
    /// <exception cref="OperationCanceledException">The token was already cancelled.</exception>
    public IAsyncEnumerable<GenerationUpdate> GenerateStreamingAsync(IReadOnlyList<int> promptTokenIds, DbrxGenerationOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(promptTokenIds);
        cancellationToken.ThrowIfCancellationRequested();
        options ??= new DbrxGenerationOptions();
        options.Validate(Model.Config.VocabSize);
        int[] prompt = FitToContext(promptTokenIds, options);

        var sequence = new GenerationSequence(prompt, options, Tokenizer, cancellationToken);
        try
        {
            queue.Add(sequence, freeRows: Math.Max(0, Options.MaxBatchSize - scheduler.RowsInUse));
        }
        catch
        {
            sequence.Dispose();
            throw;
        }
        return ReadUpdates(sequence, default);
    }

    /// <summary>Generates from prompt token ids and returns the whole result (the streaming path, collected).</summary>
    public async Task<GenerationResult> GenerateAsync(IReadOnlyList<int> promptTokenIds, DbrxGenerationOptions? options = null, CancellationToken cancellationToken = default) =>
        await Collect(GenerateStreamingAsync(promptTokenIds, options, cancellationToken));

    /// <summary>Renders a conversation with the chat template (generation prompt added) and streams the answer.</summary>
    public IAsyncEnumerable<GenerationUpdate> GenerateChatStreamingAsync(IReadOnlyList<DbrxChatMessage> messages, DbrxGenerationOptions? options = null, DbrxChatTemplate? template = null, CancellationToken cancellationToken = default) =>
        GenerateStreamingAsync((template ?? DbrxChatTemplate.Default).Encode(messages, addGenerationPrompt: true, Tokenizer, cancellationToken), options, cancellationToken);

    /// <summary>Renders a conversation with the chat template and returns the whole answer.</summary>
    public async Task<GenerationResult> GenerateChatAsync(IReadOnlyList<DbrxChatMessage> messages, DbrxGenerationOptions? options = null, DbrxChatTemplate? template = null, CancellationToken cancellationToken = default) =>
        await Collect(GenerateChatStreamingAsync(messages, options, template, cancellationToken));

    private static async Task<GenerationResult> Collect(IAsyncEnumerable<GenerationUpdate> updates)
    {
        var text = new System.Text.StringBuilder();
        var tokens = new List<int>();
        await foreach (GenerationUpdate update in updates)
        {
            text.Append(update.Text);
            tokens.AddRange(update.TokenIds);
            if (update.FinishReason is { } reason)
                return new GenerationResult(text.ToString(), tokens, reason, update.Usage!, update.Timings!);
        }
        throw new InvalidOperationException("The generation stream ended without a finish reason.");
    }

    private int[] FitToContext(IReadOnlyList<int> prompt, DbrxGenerationOptions options)
    {
        if (prompt.Count == 0)
            throw new ArgumentException(
                "The prompt has no tokens. (A conversation of only a system message renders to nothing with DBRX's chat template, as with the reference's: "
                + "the system text is written with the first user or assistant message. Add a user message.)", nameof(prompt));
        int vocabulary = Model.Config.VocabSize;
        foreach (int id in prompt)
        {
            if (id < 0 || id >= vocabulary)
                throw new ArgumentException($"Prompt token id {id} is outside the model's vocabulary of {vocabulary} ids (0..{vocabulary - 1}).", nameof(prompt));
        }
        return DbrxContextFit.Fit(prompt, options.MaxNewTokens, ContextLength, options.TruncatePromptFromLeft);
    }

    private static async IAsyncEnumerable<GenerationUpdate> ReadUpdates(GenerationSequence sequence, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        using var registration = cancellationToken.Register(sequence.Cancel);
        try
        {
            await foreach (GenerationUpdate update in sequence.Updates.ReadAllAsync(CancellationToken.None))
                yield return update;
        }
        finally
        {
            // A consumer that stops reading early ends the request; the worker frees its row at the next step.
            sequence.Cancel();
        }
    }

    /// <summary>
    /// Stops the worker: running requests end as cancelled at the next step, waiting ones fail with
    /// <see cref="ObjectDisposedException"/>. Frees the cache, and the model if the generator owns it.
    /// </summary>
    public void Dispose()
    {
        if (!queue.Stop())
            return;
        meter.Dispose();
        scheduler.Join();
        prefixCache?.Dispose();
        cache.Dispose();
        queue.Dispose();
        if (ownsModel)
            Model.Dispose();
    }
}
