using Dbrx.Inference.Checkpoints;
using Dbrx.Inference.Tokenization;

namespace Dbrx.Inference.Generation;

/// <summary>
/// What a chat front end needs from the engine: the tokenizer, the limits, loading, streamed generation from prompt
/// token ids, and the figures a server reports. <see cref="DbrxGenerator"/> is the implementation (already loaded);
/// the interface lets front ends load lazily and be tested without a model.
/// </summary>
public interface IDbrxEngine : IDisposable
{
    /// <summary>Whether the model is loaded (a generator always is).</summary>
    bool IsLoaded => true;

    /// <summary>Loads the model unless it is loaded; concurrent calls share one load. A generator is loaded already.</summary>
    /// <param name="progress">Receives the progress after each tensor.</param>
    /// <param name="cancellationToken">Stops the load.</param>
    Task LoadAsync(IProgress<DbrxTensorProgress>? progress = null, CancellationToken cancellationToken = default) => Task.CompletedTask;

    /// <summary>What the engine is doing now: waiting and running requests, batch rows, KV cache use.</summary>
    DbrxEngineStatistics Statistics => default;

    /// <summary>
    /// The blocks the engine's prefix cache gained and lost (see <see cref="DbrxGenerator.KvCacheChanged"/>); an engine
    /// without one never raises it.
    /// </summary>
    event EventHandler<DbrxKvCacheChangedEventArgs>? KvCacheChanged
    {
        add { }
        remove { }
    }

    /// <summary>The tokenizer prompts are encoded with.</summary>
    DbrxTokenizer Tokenizer { get; }

    /// <summary>Token ids the model accepts (its <c>vocab_size</c>).</summary>
    int VocabularySize { get; }

    /// <summary>Tokens per sequence, prompt and output together.</summary>
    int ContextLength { get; }

    /// <summary>Streams generation from prompt token ids; see <see cref="DbrxGenerator.GenerateStreamingAsync"/>.</summary>
    IAsyncEnumerable<GenerationUpdate> GenerateStreamingAsync(IReadOnlyList<int> promptTokenIds, DbrxGenerationOptions? options = null, CancellationToken cancellationToken = default);
}
