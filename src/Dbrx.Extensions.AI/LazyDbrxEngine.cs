using System.Diagnostics.Metrics;
using System.Runtime.CompilerServices;
using Dbrx.Inference.Checkpoints;
using Dbrx.Inference.Configuration;
using Dbrx.Inference.Generation;
using Dbrx.Inference.Loading;
using Dbrx.Inference.Tokenization;
using Microsoft.Extensions.Logging;

namespace Dbrx.Extensions.AI;

/// <summary>
/// The engine behind a <see cref="DbrxChatClient"/> built from options: the tokenizer and config are read at once
/// (cheap), the weights by <see cref="LoadAsync"/>, which the first request calls (or, with
/// <see cref="DbrxChatClientOptions.LoadEagerly"/>, the host once it has started). One load at a time; a failed or
/// cancelled load keeps nothing and the next call tries again.
/// </summary>
internal sealed class LazyDbrxEngine : IDbrxEngine
{
    private readonly DbrxChatClientOptions options;
    private readonly DbrxConfig config;
    private readonly ILogger? logger;
    private readonly IMeterFactory? meterFactory;
    private readonly SemaphoreSlim loading = new(1, 1);
    private readonly object publish = new();
    private volatile DbrxGenerator? generator;
    private bool disposed;

    public LazyDbrxEngine(DbrxChatClientOptions options, ILogger? logger = null, IMeterFactory? meterFactory = null)
    {
        this.options = options;
        this.logger = logger;
        this.meterFactory = meterFactory;
        config = DbrxConfigJson.Load(options.ModelPath!);
        Tokenizer = DbrxTokenizer.FromModelFolder(options.ModelPath!);
    }

    public DbrxTokenizer Tokenizer { get; }

    public int VocabularySize => config.VocabSize;

    public int ContextLength => options.ContextLength ?? config.DefaultContextLength;

    /// <summary>How the weights load: device "auto" plans room for this client's batch and context on each GPU.</summary>
    internal DbrxLoadOptions LoadOptions => options.ToLoadOptions(config);

    /// <summary>How the generator serves this client's requests.</summary>
    internal DbrxGeneratorOptions ServingOptions => options.ToServingOptions(ContextLength);

    /// <summary>The loaded generator's prefix-cache changes; a handler added before the load sees them all.</summary>
    public event EventHandler<DbrxKvCacheChangedEventArgs>? KvCacheChanged;

    /// <summary>The generator once loaded; null before (reading it never loads).</summary>
    public DbrxGenerator? Loaded => generator;

    /// <summary>Whether the weights are loaded.</summary>
    public bool IsLoaded => generator is not null;

    /// <inheritdoc/>
    public DbrxEngineStatistics Statistics => generator?.Statistics ?? new DbrxEngineStatistics(0, 0, options.MaxBatchSize, 0);

    /// <summary>Loads the weights unless they are loaded, on a thread-pool thread; cancellation is checked between tensors.</summary>
    public Task LoadAsync(IProgress<DbrxTensorProgress>? progress = null, CancellationToken cancellationToken = default) =>
        LoadGeneratorAsync(progress, cancellationToken);

    private async Task<DbrxGenerator> LoadGeneratorAsync(IProgress<DbrxTensorProgress>? progress, CancellationToken cancellationToken)
    {
        if (generator is { } ready)
            return ready;
        await loading.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            ObjectDisposedException.ThrowIf(disposed, this);
            if (generator is { } loaded)
                return loaded;
            var load = LoadOptions with { Progress = progress, Logger = logger };
            var model = await Task.Run(() => DbrxModelLoader.Load(options.ModelPath!, load, cancellationToken), cancellationToken).ConfigureAwait(false);
            var created = new DbrxGenerator(model, Tokenizer, ServingOptions, ownsModel: true, meterFactory);
            created.KvCacheChanged += (_, changes) => KvCacheChanged?.Invoke(this, changes);
            lock (publish)
            {
                if (disposed)
                {
                    created.Dispose();
                    throw new ObjectDisposedException(nameof(DbrxChatClient));
                }
                generator = created;
            }
            return created;
        }
        finally
        {
            loading.Release();
        }
    }

    public async IAsyncEnumerable<GenerationUpdate> GenerateStreamingAsync(IReadOnlyList<int> promptTokenIds, DbrxGenerationOptions? options = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        DbrxGenerator ready = generator ?? await LoadGeneratorAsync(progress: null, cancellationToken).ConfigureAwait(false);
        await foreach (GenerationUpdate update in ready.GenerateStreamingAsync(promptTokenIds, options, cancellationToken).ConfigureAwait(false))
            yield return update;
    }

    public void Dispose()
    {
        lock (publish)
        {
            disposed = true;
            generator?.Dispose();
            generator = null;
        }
    }
}
