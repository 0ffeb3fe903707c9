using Dbrx.Inference.Generation;
using Dbrx.Inference.Tests.Support;
using Dbrx.Inference.Tokenization;

namespace Dbrx.Inference.Tests;

/// <summary>
/// The generator with its prefix cache of blocks: a conversation whose row was taken by another one continues from
/// its blocks (on the device or, displaced, from the host), and every answer equals the answer of a generator that
/// caches nothing, with requests batched, sharing prefixes and cancelled at random.
/// </summary>
public sealed class PrefixCacheGenerationTests(TinyModel tiny) : IClassFixture<TinyModel>
{
    private const int BlockTokens = 4;
    private static readonly DbrxGenerationOptions Greedy = new() { Temperature = 0, MaxNewTokens = 6 };
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private DbrxGenerator Generator(int batch, long deviceBlocks, long hostBlocks = 0, bool reuse = true)
    {
        long blockBytes = Generation.PrefixCache.PrefixBlockStore.BlockBytes(tiny.Model.Config, tiny.Model.DType, BlockTokens);
        return new DbrxGenerator(tiny.Model, DbrxTokenizer.Default, new DbrxGeneratorOptions
        {
            MaxBatchSize = batch,
            ContextLength = 256,
            ReusePromptPrefixes = reuse,
            PrefixBlockTokens = BlockTokens,
            PrefixCacheBytes = deviceBlocks * blockBytes,
            HostPrefixCacheBytes = hostBlocks * blockBytes,
        });
    }

    private static int[] Prompt(string text) => DbrxTokenizer.Default.Encode(text);

    /// <summary>The greedy answers of a generator that caches nothing: the reference for every cached run.</summary>
    private async Task<int[]> Solo(int[] prompt)
    {
        using var plain = Generator(batch: 1, deviceBlocks: 0, reuse: false);
        return [.. (await plain.GenerateAsync(prompt, Greedy, Ct)).TokenIds];
    }

    [Theory]
    [InlineData(64, 0)]   // the device tier holds both conversations
    [InlineData(6, 64)]   // the device tier holds one; the other's blocks wait in the host tier
    public async Task A_conversation_whose_row_was_taken_continues_from_its_blocks(int deviceBlocks, int hostBlocks)
    {
        using var generator = Generator(batch: 1, deviceBlocks, hostBlocks);
        int[] first = Prompt("You are a careful assistant. Tell me about the weather in Oslo today, please.");
        GenerationResult firstAnswer = await generator.GenerateAsync(first, Greedy, Ct);
        // Another conversation takes the only row.
        await generator.GenerateAsync(Prompt("Something else entirely: list three prime numbers and explain them."), Greedy, Ct);

        int[] followUp = [.. first, .. firstAnswer.TokenIds, .. Prompt(" And tomorrow?")];
        GenerationResult answer = await generator.GenerateAsync(followUp, Greedy, Ct);

        int held = first.Length + firstAnswer.TokenIds.Count - 1;   // what the first turn's row held: all but its last token
        Assert.Equal(held / BlockTokens * BlockTokens, answer.Usage.CachedPromptTokens);
        Assert.Equal(await Solo(followUp), answer.TokenIds);
        DbrxEngineStatistics statistics = generator.Statistics;
        Assert.Equal(BlockTokens, statistics.PrefixBlockTokens);
        Assert.InRange(statistics.PrefixCacheBlocks, 1, deviceBlocks);
        Assert.InRange(statistics.HostPrefixCacheBlocks, 0, hostBlocks);
        Assert.True(statistics.PrefixCacheHits >= answer.Usage.CachedPromptTokens);
    }

    [Fact]
    public async Task The_generator_tells_its_subscribers_each_block_it_stores_and_a_failing_subscriber_changes_no_answer()
    {
        using var generator = Generator(batch: 1, deviceBlocks: 64);
        var stored = new List<ulong>();
        generator.KvCacheChanged += (_, changes) => stored.AddRange(changes.Events.OfType<DbrxKvCacheEvent.BlockStored>().SelectMany(e => e.BlockHashes));
        generator.KvCacheChanged += (_, _) => throw new InvalidOperationException("a subscriber's own failure");
        int[] prompt = Prompt("You are a careful assistant. Tell me about the weather in Oslo today, please.");
        GenerationResult answer = await generator.GenerateAsync(prompt, Greedy, Ct);

        Assert.Equal(await Solo(prompt), answer.TokenIds);
        // The prompt's whole blocks (short of its last token) when it was prefilled, then the rest of the row at the end:
        // every whole block of what the row held, each once, chained from the first.
        int held = prompt.Length + answer.TokenIds.Count - 1;
        int[] tokens = [.. prompt, .. answer.TokenIds];
        var expected = new List<ulong>();
        for (int block = 0; block < held / BlockTokens; block++)
            expected.Add(DbrxPrefixBlockHash.Of(block == 0 ? DbrxPrefixBlockHash.Root : expected[^1], tokens.AsSpan(block * BlockTokens, BlockTokens)));
        Assert.Equal(expected, stored);
        Assert.Equal(expected.Count, generator.Statistics.PrefixCacheBlocks);
    }

    [Theory]
    [InlineData(1, 1000, 0)]
    [InlineData(2, 12, 0)]
    [InlineData(3, 8, 20)]
    public async Task Batched_answers_with_shared_prefixes_and_cancels_equal_the_uncached_ones(int seed, int deviceBlocks, int hostBlocks)
    {
        var random = new Random(seed);
        string[] systems = ["You are a helpful assistant who answers briefly.", "You translate English to French."];
        string[] questions = ["What is DBRX?", "Name a colour.", "How far is the moon?", "Say hello.", "Count to three."];
        int[][] prompts = [.. Enumerable.Range(0, 24).Select(_ => Prompt(systems[random.Next(systems.Length)] + " " + questions[random.Next(questions.Length)]))];
        var expected = new Dictionary<int, int[]>();
        foreach (int i in Enumerable.Range(0, prompts.Length))
            expected[i] = await Solo(prompts[i]);

        using var generator = Generator(batch: 3, deviceBlocks, hostBlocks);
        var cancelled = new HashSet<int>(Enumerable.Range(0, prompts.Length).Where(_ => random.Next(4) == 0));
        async Task<(int Index, GenerationResult? Result)> Run(int i)
        {
            if (!cancelled.Contains(i))
                return (i, await generator.GenerateAsync(prompts[i], Greedy, Ct));
            // Cancelled once it has started answering.
            using var cancel = CancellationTokenSource.CreateLinkedTokenSource(Ct);
            await foreach (GenerationUpdate _ in generator.GenerateStreamingAsync(prompts[i], Greedy, cancel.Token))
                cancel.Cancel();
            return (i, null);
        }

        // Two waves, so the second finds the first one's blocks.
        var results = new List<(int Index, GenerationResult? Result)>();
        results.AddRange(await Task.WhenAll(Enumerable.Range(0, 12).Select(Run)));
        results.AddRange(await Task.WhenAll(Enumerable.Range(12, 12).Select(Run)));

        foreach (var (index, result) in results.Where(r => r.Result is not null))
            Assert.Equal(expected[index], result!.TokenIds);
        Assert.True(generator.Statistics.PrefixCacheHits > 0, "the second wave reused nothing");
    }
}
