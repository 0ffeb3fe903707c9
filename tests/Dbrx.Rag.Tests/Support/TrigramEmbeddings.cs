using System.Numerics.Tensors;
using Microsoft.Extensions.AI;

namespace Dbrx.Rag.Tests.Support;

/// <summary>
/// An embedding generator without a model, for the fused-retrieval path: each text becomes its character trigrams
/// hashed into 256 counts, normalised. Similar spellings get similar vectors; that is all these tests need.
/// </summary>
public sealed class TrigramEmbeddings : IEmbeddingGenerator<string, Embedding<float>>
{
    public const int Dimensions = 256;

    public static float[] Embed(string text)
    {
        var vector = new float[Dimensions];
        string padded = $"  {text.ToLowerInvariant()}  ";
        for (int i = 0; i + 3 <= padded.Length; i++)
            vector[(int)((uint)string.GetHashCode(padded.AsSpan(i, 3), StringComparison.Ordinal) % Dimensions)] += 1;
        float norm = TensorPrimitives.Norm(vector);
        if (norm > 0)
            TensorPrimitives.Divide(vector, norm, vector);
        return vector;
    }

    public Task<GeneratedEmbeddings<Embedding<float>>> GenerateAsync(IEnumerable<string> values, EmbeddingGenerationOptions? options = null, CancellationToken cancellationToken = default) =>
        Task.FromResult(new GeneratedEmbeddings<Embedding<float>>(values.Select(v => new Embedding<float>(Embed(v)))));

    public object? GetService(Type serviceType, object? serviceKey = null) => null;

    public void Dispose()
    {
    }
}
