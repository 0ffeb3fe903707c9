using Dbrx.Inference.Configuration;
using Dbrx.Inference.Generation;
using Dbrx.Inference.Modeling;
using Dbrx.Inference.Tokenization;

namespace Dbrx.Extensions.AI;

/// <summary>
/// The engine behind a <see cref="DbrxChatClient"/> built from options: the tokenizer and config are read at once
/// (cheap), the weights on the first request (or at once with <see cref="DbrxChatClientOptions.LoadEagerly"/>).
/// A failed load is not cached: the next request tries again.
/// </summary>
internal sealed class LazyDbrxEngine : IDbrxEngine
{
    private readonly DbrxChatClientOptions options;
    private readonly DbrxConfig config;
    private readonly object gate = new();
    private DbrxGenerator? generator;
    private bool disposed;

    public LazyDbrxEngine(DbrxChatClientOptions options)
    {
        this.options = options;
        config = DbrxConfigJson.Load(options.ModelPath!);
        Tokenizer = DbrxTokenizer.FromModelFolder(options.ModelPath!);
        if (options.LoadEagerly)
            _ = Generator;
    }

    public DbrxTokenizer Tokenizer { get; }

    public int VocabularySize => config.VocabSize;

    public int ContextLength => options.ContextLength ?? config.DefaultContextLength;

    /// <summary>How the weights load: device "auto" plans room for this client's batch and context on each GPU.</summary>
    internal DbrxLoadOptions LoadOptions => options.ToLoadOptions(config);

    /// <summary>How the generator serves this client's requests.</summary>
    internal DbrxGeneratorOptions ServingOptions => new()
    {
        MaxBatchSize = options.MaxBatchSize,
        MaxQueuedRequests = options.MaxQueuedRequests,
        ContextLength = ContextLength,
        PrefillChunkTokens = options.PrefillChunkTokens,
        ReusePromptPrefixes = options.ReusePromptPrefixes,
    };

    /// <summary>Whether the weights are loaded.</summary>
    public bool IsLoaded => generator is not null;

    /// <summary>The generator, loading the model on first use.</summary>
    public DbrxGenerator Generator
    {
        get
        {
            if (generator is { } loaded)
                return loaded;
            lock (gate)
            {
                ObjectDisposedException.ThrowIf(disposed, this);
                if (generator is null)
                {
                    var model = DbrxModelLoader.Load(options.ModelPath!, LoadOptions);
                    generator = new DbrxGenerator(model, Tokenizer, ServingOptions, ownsModel: true);
                }
                return generator;
            }
        }
    }

    public IAsyncEnumerable<GenerationUpdate> GenerateStreamingAsync(IReadOnlyList<int> promptTokenIds, DbrxGenerationOptions? options = null, CancellationToken cancellationToken = default) =>
        Generator.GenerateStreamingAsync(promptTokenIds, options, cancellationToken);

    public void Dispose()
    {
        lock (gate)
        {
            disposed = true;
            generator?.Dispose();
            generator = null;
        }
    }
}
