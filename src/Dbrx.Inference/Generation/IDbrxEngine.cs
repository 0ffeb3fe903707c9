using Dbrx.Inference.Tokenization;

namespace Dbrx.Inference.Generation;

/// <summary>
/// What a chat front end needs from the engine: the tokenizer, the limits, and streamed generation from prompt token
/// ids. <see cref="DbrxGenerator"/> is the implementation; the interface lets front ends be tested without a model.
/// </summary>
public interface IDbrxEngine : IDisposable
{
    /// <summary>The tokenizer prompts are encoded with.</summary>
    DbrxTokenizer Tokenizer { get; }

    /// <summary>Token ids the model accepts (its <c>vocab_size</c>).</summary>
    int VocabularySize { get; }

    /// <summary>Tokens per sequence, prompt and output together.</summary>
    int ContextLength { get; }

    /// <summary>Streams generation from prompt token ids; see <see cref="DbrxGenerator.GenerateStreamingAsync"/>.</summary>
    IAsyncEnumerable<GenerationUpdate> GenerateStreamingAsync(IReadOnlyList<int> promptTokenIds, DbrxGenerationOptions? options = null, CancellationToken cancellationToken = default);
}
