using Dbrx.Inference.Generation;
using Dbrx.Inference.Tests.Support;
using Dbrx.Inference.Tokenization;
using static TorchSharp.torch;

namespace Dbrx.Inference.Tests;

/// <summary>
/// TorchSharp's Scalars (and tensors outside a dispose scope) free their native memory in a finalizer. One that nothing
/// references while libtorch reads it can be freed mid-call when a collection runs on another thread: libtorch then
/// throws ("Expected false to be true ... Scalar.h:140") or, worse, reads a wrong value. A server collects all the time;
/// here a thread forces collections without pause while batched generation runs, and every answer must equal its solo
/// run, with every sampling feature on so that each path through the sampler and the forward pass is exercised.
/// The class runs alone (its collections would slow every test running beside it), and the engine is always compiled
/// with optimizations (Dbrx.Inference.csproj): the JIT's debug code keeps temporaries alive to the end of a method and
/// hides the fault. Before the fix the forward-pass test failed in 3 of 3 runs, within 2000 passes.
/// </summary>
[Collection(nameof(GarbageCollectionPressureTests))]
[CollectionDefinition(nameof(GarbageCollectionPressureTests), DisableParallelization = true)]
[Trait("Category", "Slow")]
public sealed class GarbageCollectionPressureTests(TinyModel tiny) : IClassFixture<TinyModel>
{
    private static readonly string[] Prompts =
        ["alpha", "The quick brown fox", "def main():", "1 2 3 4 5 6 7 8", "Привет", "zebra crossing", "a b a b a b", "{\"x\":"];

    private static DbrxGenerationOptions OptionsFor(int i) => (i % 4) switch
    {
        0 => new() { Temperature = 0, MaxNewTokens = 12 },
        1 => new() { Temperature = 0.8, TopK = 40, TopP = 0.9, MinP = 0.01, MaxNewTokens = 12, Seed = i },
        2 => new()
        {
            Temperature = 0,
            RepetitionPenalty = 1.3,
            FrequencyPenalty = 0.5,
            PresencePenalty = 0.4,
            LogitBias = new Dictionary<int, double> { [10] = -50, [11] = 3 },
            MaxNewTokens = 12,
        },
        _ => new()
        {
            Temperature = 1.1,
            TopK = 0,
            TopP = 0.7,
            RepetitionPenalty = 0.9,
            FrequencyPenalty = -0.3,
            LogitBias = new Dictionary<int, double> { [500] = 2 },
            MaxNewTokens = 12,
            Seed = 1000 + i,
        },
    };

    private DbrxGenerator NewGenerator(int batch, int chunk, bool reuse) =>
        new(tiny.Model, DbrxTokenizer.Default, new DbrxGeneratorOptions
        {
            MaxBatchSize = batch,
            MaxQueuedRequests = 64,
            ContextLength = 256,
            PrefillChunkTokens = chunk,
            ReusePromptPrefixes = reuse,
        });

    [Fact]
    public async Task Batched_answers_under_forced_collections_equal_their_solo_runs()
    {
        var ct = TestContext.Current.CancellationToken;
        var solo = new List<GenerationResult>();
        using (var alone = NewGenerator(batch: 1, chunk: 512, reuse: false))
        {
            for (int i = 0; i < Prompts.Length; i++)
                solo.Add(await alone.GenerateAsync(DbrxTokenizer.Default.Encode(Prompts[i]), OptionsFor(i), ct));
        }

        using var batched = NewGenerator(batch: 4, chunk: 3, reuse: true);
        int compared = 0;
        using (var collections = new ForcedCollections())
        {
            for (int round = 0; round < 2; round++)
            {
                var together = await Task.WhenAll(Prompts.Select((p, i) =>
                    Task.Run(() => batched.GenerateAsync(DbrxTokenizer.Default.Encode(p), OptionsFor(i), ct), ct)));
                for (int i = 0; i < Prompts.Length; i++, compared++)
                    Assert.Equal(solo[i].TokenIds, together[i].TokenIds);
            }
            Assert.True(collections.Count > 0, "the collecting thread never ran");
        }
        Assert.Equal(2 * Prompts.Length, compared);
    }

    /// <summary>
    /// The forward pass alone, many times on the golden model (its clip_qkv clamps every projection): each pass's logits
    /// equal, bit for bit, those of a pass run before the collections started.
    /// </summary>
    [Fact]
    public void Forward_passes_under_forced_collections_give_the_same_logits()
    {
        using var model = Golden.LoadModel();
        using var ids = tensor(new long[] { 3, 14, 15, 92, 65, 35, 89 }).unsqueeze(0);
        float[] expected;
        using (var first = model.Forward(ids, [0]))
            expected = first.data<float>().ToArray();
        using var collections = new ForcedCollections();
        int passes = 0;
        for (; passes < 2000; passes++)
        {
            using var logits = model.Forward(ids, [0]);
            Assert.True(expected.AsSpan().SequenceEqual(logits.data<float>().ToArray()), $"pass {passes} differs from the pass before the collections");
        }
        Assert.Equal(2000, passes);
        Assert.True(collections.Count > 0, "the collecting thread never ran");
    }

    /// <summary>
    /// The sampler alone, on a small row so that its tensor operations (bias, penalties, temperature, top-k, top-p,
    /// min-p) run thousands of times: it chooses what a twin sampler chose before the collections started.
    /// </summary>
    [Fact]
    public void Sampling_under_forced_collections_chooses_what_it_chose_without_them()
    {
        const int steps = 20_000;
        var options = OptionsFor(3) with { TopK = 20, MinP = 0.02, LogitBias = new Dictionary<int, double> { [5] = 2, [6] = -3 } };
        using var logits = linspace(-4, 4, 64, ScalarType.Float32).sin();
        var twin = new TokenSampler(options, seed: 7, prompt: [1, 2, 3]);
        int[] expected = [.. Enumerable.Range(0, steps).Select(_ => twin.Next(logits))];

        var sampler = new TokenSampler(options, seed: 7, prompt: [1, 2, 3]);
        using var collections = new ForcedCollections();
        for (int step = 0; step < steps; step++)
            Assert.Equal(expected[step], sampler.Next(logits));
        Assert.True(collections.Count > 0, "the collecting thread never ran");
    }

    /// <summary>A thread that forces full collections and runs finalizers in a loop until disposed.</summary>
    private sealed class ForcedCollections : IDisposable
    {
        private readonly Thread thread;
        private volatile bool stop;
        private int count;

        public ForcedCollections()
        {
            thread = new Thread(() =>
            {
                while (!stop)
                {
                    GC.Collect();
                    GC.WaitForPendingFinalizers();
                    Interlocked.Increment(ref count);
                }
            })
            { IsBackground = true, Name = "forced collections" };
            thread.Start();
        }

        public int Count => Volatile.Read(ref count);

        public void Dispose()
        {
            stop = true;
            thread.Join();
        }
    }
}
