using System.Runtime.CompilerServices;
using Dbrx.Inference.Generation;
using Dbrx.Inference.Tokenization;
using Moq;

namespace Dbrx.Extensions.AI.Tests;

/// <summary>A mocked engine that answers with fixed text and records what it was asked.</summary>
internal sealed class FakeEngine
{
    public Mock<IDbrxEngine> Mock { get; } = new();

    public List<(int[] Prompt, DbrxGenerationOptions Options)> Calls { get; } = [];

    public FakeEngine(string answer = "Hello there!", GenerationFinishReason reason = GenerationFinishReason.EndOfTurn)
    {
        Mock.SetupGet(e => e.Tokenizer).Returns(DbrxTokenizer.Default);
        Mock.SetupGet(e => e.VocabularySize).Returns(100352);
        Mock.SetupGet(e => e.ContextLength).Returns(4096);
        Mock.Setup(e => e.GenerateStreamingAsync(It.IsAny<IReadOnlyList<int>>(), It.IsAny<DbrxGenerationOptions?>(), It.IsAny<CancellationToken>()))
            .Returns((IReadOnlyList<int> prompt, DbrxGenerationOptions? options, CancellationToken ct) =>
            {
                lock (Calls)
                    Calls.Add(([.. prompt], options!));
                return Answer(answer, reason, prompt.Count, ct);
            });
    }

    public IDbrxEngine Object => Mock.Object;

    public string LastPromptText => DbrxTokenizer.Default.Decode(Calls[^1].Prompt);

    private static async IAsyncEnumerable<GenerationUpdate> Answer(string text, GenerationFinishReason reason, int promptTokens, [EnumeratorCancellation] CancellationToken ct)
    {
        int[] ids = DbrxTokenizer.Default.Encode(text);
        var decoder = DbrxTokenizer.Default.CreateStreamingDecoder();
        foreach (int id in ids)
        {
            await Task.Yield();
            if (ct.IsCancellationRequested)
            {
                yield return new GenerationUpdate { FinishReason = GenerationFinishReason.Cancelled, Usage = new(promptTokens, 0), Timings = new(TimeSpan.Zero, TimeSpan.Zero, null) };
                yield break;
            }
            yield return new GenerationUpdate { Text = decoder.Append(id), TokenIds = [id] };
        }
        yield return new GenerationUpdate { Text = decoder.Flush(), FinishReason = reason, Usage = new(promptTokens, ids.Length + 1), Timings = new(TimeSpan.FromMilliseconds(5), TimeSpan.FromMilliseconds(9), 100) };
    }
}
