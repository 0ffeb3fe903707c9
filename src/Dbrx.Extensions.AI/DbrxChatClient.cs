using System.Runtime.CompilerServices;
using Dbrx.ConstrainedDecoding;
using Dbrx.Inference.Generation;
using Dbrx.Inference.Modeling;
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
/// <see cref="LoadAsync"/> (for warm-up, with progress), or when the client is created with
/// <see cref="DbrxChatClientOptions.LoadEagerly"/>. Cancelling a request throws
/// <see cref="OperationCanceledException"/> and frees its place in the batch at once. Function invocation is left to
/// <c>FunctionInvokingChatClient</c> (<c>.UseFunctionInvocation()</c>) or Semantic Kernel.
/// </remarks>
public sealed class DbrxChatClient : IChatClient
{
    private readonly IDbrxEngine engine;
    private readonly bool ownsEngine;
    private readonly DbrxChatClientOptions options;
    private readonly ChatClientMetadata metadata;
    private readonly ILogger? logger;
    private readonly JsonConstraintCompiler constraints;

    /// <summary>Creates a client that owns its model, loaded from <see cref="DbrxChatClientOptions.ModelPath"/>.</summary>
    /// <param name="options">The options; validated here.</param>
    /// <param name="loggerFactory">Where loading logs its start and end (the DI registration passes the application's).</param>
    /// <exception cref="ArgumentException">The options are invalid (the message names the option).</exception>
    public DbrxChatClient(DbrxChatClientOptions options, ILoggerFactory? loggerFactory = null)
        : this(CreateEngine(options, loggerFactory), options, ownsEngine: true, loggerFactory)
    {
        if (this.options.LoadEagerly)
            LoadAsync().GetAwaiter().GetResult();
    }

    /// <summary>Creates a client over an engine, for example a <see cref="DbrxGenerator"/> shared with other code.</summary>
    /// <param name="engine">The engine.</param>
    /// <param name="options">Client options (the model fields are not used).</param>
    /// <param name="ownsEngine">Dispose the engine with the client.</param>
    /// <param name="loggerFactory">Where warnings go (content left out with <see cref="DbrxChatClientOptions.SkipUnreadableContent"/>).</param>
    public DbrxChatClient(IDbrxEngine engine, DbrxChatClientOptions? options = null, bool ownsEngine = false, ILoggerFactory? loggerFactory = null)
    {
        logger = loggerFactory?.CreateLogger<DbrxChatClient>();
        ArgumentNullException.ThrowIfNull(engine);
        this.options = (options ?? new DbrxChatClientOptions()).Clone();
        this.options.Validate(requireModel: false);
        this.engine = engine;
        this.ownsEngine = ownsEngine;
        constraints = new JsonConstraintCompiler(engine.Tokenizer, this.options.ToJsonConstraintOptions());
        Uri? location = this.options.ModelPath is { } path ? new Uri(Path.GetFullPath(path)) : null;
        metadata = new ChatClientMetadata("dbrx", location, this.options.EffectiveModelId);
    }

    private static IDbrxEngine CreateEngine(DbrxChatClientOptions options, ILoggerFactory? loggerFactory)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        return new LazyDbrxEngine(options.Clone(), loggerFactory?.CreateLogger<DbrxChatClient>());
    }

    /// <summary>Whether the model is loaded (always, for a client over an engine it was given).</summary>
    public bool IsLoaded => engine is not LazyDbrxEngine lazy || lazy.IsLoaded;

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
        if (engine is LazyDbrxEngine lazy)
            await lazy.LoadAsync(progress, cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc/>
    public async Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default) =>
        await GetStreamingResponseAsync(messages, options, cancellationToken).ToChatResponseAsync(cancellationToken);

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
        IAsyncEnumerable<GenerationUpdate> generated = engine.GenerateStreamingAsync(request.PromptTokenIds, request.Options, cancellationToken);
        await foreach (ChatResponseUpdate update in DbrxChatMapper.ToUpdates(generated, request, metadata.DefaultModelId, cancellationToken))
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
        if (ownsEngine)
            engine.Dispose();
    }
}
