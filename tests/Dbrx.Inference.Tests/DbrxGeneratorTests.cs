using System.Collections.Concurrent;
using Dbrx.Inference.Chat;
using Dbrx.Inference.Generation;
using Dbrx.Inference.Modeling;
using Dbrx.Inference.Tests.Support;
using Dbrx.Inference.Tokenization;

namespace Dbrx.Inference.Tests;

public sealed class DbrxGeneratorTests(TinyModel tiny) : IClassFixture<TinyModel>
{
    private static readonly DbrxGenerationOptions Greedy = new() { Temperature = 0, MaxNewTokens = 12 };
    private static readonly DbrxGenerationOptions Sampled = new() { Temperature = 0.9, TopK = 0, TopP = 1, MaxNewTokens = 12, Seed = 99 };

    private DbrxGenerator NewGenerator(int batch = 4, int queue = 16, int context = 512, int chunk = 512, bool reuse = true) =>
        new(tiny.Model, DbrxTokenizer.Default, new DbrxGeneratorOptions { MaxBatchSize = batch, MaxQueuedRequests = queue, ContextLength = context, PrefillChunkTokens = chunk, ReusePromptPrefixes = reuse });

    private static int[] Prompt(string text) => DbrxTokenizer.Default.Encode(text);

    /// <summary>Reads a stream to its end, adding its tokens to <paramref name="tokens"/>, and disposes it.</summary>
    private static async Task ReadToEnd(IAsyncEnumerator<GenerationUpdate> stream, List<int>? tokens = null)
    {
        await using (stream)
        {
            while (await stream.MoveNextAsync())
                tokens?.AddRange(stream.Current.TokenIds);
        }
    }

    /// <summary>Whole, and prefilled 2 tokens at a time (chunks attend to the earlier ones through the cache).</summary>
    [Theory]
    [InlineData(512)]
    [InlineData(2)]
    public async Task Greedy_generation_reproduces_the_reference_on_the_golden_model(int prefillChunk)
    {
        using var golden = new Golden();
        using var model = Golden.LoadModel(AttentionImplementation.Sdpa);
        using var generator = new DbrxGenerator(model, DbrxTokenizer.Default, new DbrxGeneratorOptions { ContextLength = 64, PrefillChunkTokens = prefillChunk });
        var (promptIds, expected) = golden.GreedyGeneration();
        var result = await generator.GenerateAsync(promptIds, new DbrxGenerationOptions { Temperature = 0, MaxNewTokens = 20, StopTokenIds = [] }, TestContext.Current.CancellationToken);
        Assert.Equal(expected, result.TokenIds);
        Assert.Equal(GenerationFinishReason.Length, result.FinishReason);
        Assert.Equal(new GenerationUsage(7, 20), result.Usage);
    }

    [Fact]
    public async Task A_text_prompt_on_the_512_token_golden_model_is_a_clear_error()
    {
        using var model = Golden.LoadModel();
        using var generator = new DbrxGenerator(model, DbrxTokenizer.Default, new DbrxGeneratorOptions { ContextLength = 64 });
        var error = Assert.Throws<ArgumentException>(() => generator.GenerateStreamingAsync(Prompt("Hello there"), Greedy, TestContext.Current.CancellationToken));
        Assert.Contains("outside the model's vocabulary of 512 ids", error.Message);
        // The generator is still usable.
        var result = await generator.GenerateAsync([1, 2, 3], Greedy with { MaxNewTokens = 2 }, TestContext.Current.CancellationToken);
        Assert.Equal(2, result.TokenIds.Count);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Streaming_equals_non_streaming(bool sampled)
    {
        using var generator = NewGenerator();
        var options = sampled ? Sampled : Greedy;
        var whole = await generator.GenerateAsync(Prompt("Once upon a time"), options, TestContext.Current.CancellationToken);
        var pieces = new List<GenerationUpdate>();
        await foreach (var update in generator.GenerateStreamingAsync(Prompt("Once upon a time"), options, TestContext.Current.CancellationToken))
            pieces.Add(update);
        Assert.Equal(whole.Text, string.Concat(pieces.Select(p => p.Text)));
        Assert.Equal(whole.TokenIds, pieces.SelectMany(p => p.TokenIds));
        Assert.Single(pieces, p => p.FinishReason is not null);
        Assert.NotNull(pieces[^1].FinishReason);
        // The second run starts from the first one's cache row.
        Assert.Equal(whole.Usage with { CachedPromptTokens = whole.Usage.PromptTokens - 1 }, pieces[^1].Usage);
        // The streamed text is the one-shot decode of the generated ids (stop tokens carry no text).
        Assert.Equal(DbrxTokenizer.Default.Decode(whole.TokenIds, skipSpecialTokens: true), whole.Text);
    }

    [Fact]
    public async Task The_same_seed_gives_the_same_tokens_and_another_seed_others()
    {
        using var generator = NewGenerator();
        var ct = TestContext.Current.CancellationToken;
        var options = Sampled with { MaxNewTokens = 24 };
        var a = await generator.GenerateAsync(Prompt("The sea"), options, ct);
        var b = await generator.GenerateAsync(Prompt("The sea"), options, ct);
        var c = await generator.GenerateAsync(Prompt("The sea"), options with { Seed = 100 }, ct);
        Assert.Equal(a.TokenIds, b.TokenIds);
        Assert.NotEqual(a.TokenIds, c.TokenIds);
    }

    /// <summary>
    /// Also with prompts prefilled 3 tokens at a time, so rows are released and moved while a prompt is half in. The solo
    /// runs reuse no cache rows; the batched ones run twice, the second time with rows the first left kept (which of
    /// them a prompt finds before they are overwritten depends on the order requests arrive in: the tests below check
    /// reuse itself deterministically).
    /// </summary>
    [Theory]
    [InlineData(512)]
    [InlineData(3)]
    public async Task Concurrent_requests_each_equal_their_solo_run(int prefillChunk)
    {
        string[] prompts = ["alpha", "The quick brown fox", "def main():", "1 2 3 4 5 6 7 8", "Привет", "zebra crossing"];
        var optionsFor = (int i) => i % 2 == 0 ? Greedy with { MaxNewTokens = 10 + i } : Sampled with { Seed = i, MaxNewTokens = 8 + i };
        var ct = TestContext.Current.CancellationToken;

        var solo = new List<GenerationResult>();
        using (var alone = NewGenerator(batch: 1, reuse: false))
        {
            for (int i = 0; i < prompts.Length; i++)
                solo.Add(await alone.GenerateAsync(Prompt(prompts[i]), optionsFor(i), ct));
        }
        using var batched = NewGenerator(batch: 4, chunk: prefillChunk);
        for (int round = 0; round < 2; round++)
        {
            var together = await Task.WhenAll(prompts.Select((p, i) => Task.Run(() => batched.GenerateAsync(Prompt(p), optionsFor(i), ct), ct)));
            for (int i = 0; i < prompts.Length; i++)
            {
                Assert.Equal(solo[i].TokenIds, together[i].TokenIds);
                Assert.Equal(solo[i].Text, together[i].Text);
            }
        }
    }

    /// <summary>
    /// A finished request's cache row is kept: the same prompt again, and the prompt extended by 5 of the answer's
    /// tokens, start from it (all but their last prompt token) and still give the reference's greedy tokens.
    /// </summary>
    [Fact]
    public async Task A_prompt_that_starts_like_a_finished_one_continues_from_its_row_and_matches_the_reference()
    {
        var ct = TestContext.Current.CancellationToken;
        using var golden = new Golden();
        using var model = Golden.LoadModel(AttentionImplementation.Sdpa);
        using var generator = new DbrxGenerator(model, DbrxTokenizer.Default, new DbrxGeneratorOptions { ContextLength = 64 });
        var (promptIds, expected) = golden.GreedyGeneration();
        var options = new DbrxGenerationOptions { Temperature = 0, MaxNewTokens = 20, StopTokenIds = [] };

        var first = await generator.GenerateAsync(promptIds, options, ct);
        var again = await generator.GenerateAsync(promptIds, options, ct);
        int[] extended = [.. promptIds, .. expected.Take(5)];
        var continued = await generator.GenerateAsync(extended, options with { MaxNewTokens = 15 }, ct);

        Assert.Equal(expected, first.TokenIds);
        Assert.Equal(expected, again.TokenIds);
        Assert.Equal(expected.Skip(5), continued.TokenIds);
        Assert.Equal([0, promptIds.Length - 1, extended.Length - 1], new[] { first, again, continued }.Select(r => r.Usage.CachedPromptTokens));
    }

    /// <summary>
    /// A request that ends below a running one (row 0 of 2) is copied to a free row above them, and the running one
    /// moves down; a prompt that starts like the ended one is copied from there into the next row and gives what a
    /// generator without kept rows gives. Also with the generator created inside inference mode, whose cache then holds
    /// inference tensors that may only be updated in place inside it.
    /// </summary>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_row_kept_while_others_run_is_reused_from_where_it_was_copied(bool createdInInferenceMode)
    {
        var ct = TestContext.Current.CancellationToken;
        int[] shortPrompt = Prompt("Kept while another runs"), longPrompt = Prompt("Still running");
        var longOptions = Greedy with { MaxNewTokens = 60, StopTokenIds = [] };
        DbrxGenerator created;
        using (createdInInferenceMode ? TorchSharp.torch.inference_mode() : null)
            created = NewGenerator(batch: 4);
        using var generator = created;

        using var stopBelow = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var below = generator.GenerateStreamingAsync(shortPrompt, Greedy with { MaxNewTokens = 400, StopTokenIds = [] }, stopBelow.Token).GetAsyncEnumerator(ct);
        Assert.True(await below.MoveNextAsync());
        var running = generator.GenerateStreamingAsync(longPrompt, longOptions, ct).GetAsyncEnumerator(ct);
        Assert.True(await running.MoveNextAsync());
        // End the request in row 0 while row 1 runs; the worker frees (and keeps) its row in the step that reports it.
        stopBelow.Cancel();
        while (await below.MoveNextAsync() && below.Current.FinishReason is null)
        {
        }
        Assert.Equal(GenerationFinishReason.Cancelled, below.Current.FinishReason);
        await below.DisposeAsync();

        int[] follow = [.. shortPrompt, 42];
        var reused = await generator.GenerateAsync(follow, Greedy, ct);
        var runningTokens = new List<int>(running.Current.TokenIds);
        await ReadToEnd(running, runningTokens);

        using var fresh = NewGenerator(batch: 1, reuse: false);
        Assert.Equal(shortPrompt.Length, reused.Usage.CachedPromptTokens);
        Assert.Equal((await fresh.GenerateAsync(follow, Greedy, ct)).TokenIds, reused.TokenIds);
        Assert.Equal((await fresh.GenerateAsync(longPrompt, longOptions, ct)).TokenIds, runningTokens);
    }

    /// <summary>
    /// A prompt that starts like a running sequence's prompt and first answer tokens starts from a copy of that row
    /// (the running sequence is not disturbed) and both give what a generator without reuse gives.
    /// </summary>
    [Fact]
    public async Task A_prompt_that_starts_like_a_running_sequence_copies_its_prefix()
    {
        var ct = TestContext.Current.CancellationToken;
        int[] runningPrompt = Prompt("A running request shares its start");
        var runningOptions = Greedy with { MaxNewTokens = 40, StopTokenIds = [] };
        using var generator = NewGenerator(batch: 4);

        var running = generator.GenerateStreamingAsync(runningPrompt, runningOptions, ct).GetAsyncEnumerator(ct);
        var runningTokens = new List<int>();
        while (runningTokens.Count < 5 && await running.MoveNextAsync())
            runningTokens.AddRange(running.Current.TokenIds);
        int[] follow = [.. runningPrompt, .. runningTokens.Take(3), 42];
        var copied = await generator.GenerateAsync(follow, Greedy, ct);
        await ReadToEnd(running, runningTokens);

        using var fresh = NewGenerator(batch: 1, reuse: false);
        Assert.Equal(runningPrompt.Length + 3, copied.Usage.CachedPromptTokens);
        Assert.Equal((await fresh.GenerateAsync(follow, Greedy, ct)).TokenIds, copied.TokenIds);
        Assert.Equal((await fresh.GenerateAsync(runningPrompt, runningOptions, ct)).TokenIds, runningTokens);
    }

    /// <summary>
    /// Prompts waiting together start from different cached prefixes of a running sequence (5 tokens, all of its
    /// prompt, none) and are prefilled in one pass from those different lengths; each gives what a generator without
    /// reuse gives.
    /// </summary>
    [Fact]
    public async Task Prompts_prefilled_together_each_continue_from_their_own_cached_prefix()
    {
        var ct = TestContext.Current.CancellationToken;
        int[] shared = Prompt("One long shared system prompt that several requests begin with");
        int[] runningPrompt = [.. shared, 11];
        int[][] prompts = [[.. shared.Take(5), 7, 8, 9], [.. shared, 12, 13], [99, 98, 97, 96]];
        using var generator = NewGenerator(batch: 4);
        using var stopRunning = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var running = generator.GenerateStreamingAsync(runningPrompt, Greedy with { MaxNewTokens = 400, StopTokenIds = [] }, stopRunning.Token).GetAsyncEnumerator(ct);
        Assert.True(await running.MoveNextAsync());

        var together = await Task.WhenAll(prompts.Select(p => generator.GenerateAsync(p, Greedy, ct)));
        stopRunning.Cancel();
        await ReadToEnd(running);

        Assert.Equal([5, shared.Length, 0], together.Select(r => r.Usage.CachedPromptTokens));
        using var fresh = NewGenerator(batch: 1, reuse: false);
        foreach (var (prompt, result) in prompts.Zip(together))
            Assert.Equal((await fresh.GenerateAsync(prompt, Greedy, ct)).TokenIds, result.TokenIds);
    }

    /// <summary>
    /// X finishes alone and is kept in place, in row 0; Y, which shares nothing with it, takes row 0, so X's keys and
    /// values move to an empty row above instead of being lost, and X's next turn still starts from them.
    /// </summary>
    [Fact]
    public async Task A_kept_row_that_a_new_request_needs_moves_up_instead_of_being_lost()
    {
        var ct = TestContext.Current.CancellationToken;
        int[] x = Prompt("First conversation"), y = Prompt("Another one entirely");
        Assert.NotEqual(x[0], y[0]);
        using var generator = NewGenerator(batch: 4);
        var xAnswer = await generator.GenerateAsync(x, Greedy with { StopTokenIds = [] }, ct);
        await generator.GenerateAsync(y, Greedy, ct);

        int[] xNext = [.. x, .. xAnswer.TokenIds, 7, 8];
        var next = await generator.GenerateAsync(xNext, Greedy, ct);
        using var fresh = NewGenerator(batch: 1, reuse: false);
        Assert.Equal(x.Length + xAnswer.TokenIds.Count - 1, next.Usage.CachedPromptTokens);
        Assert.Equal((await fresh.GenerateAsync(xNext, Greedy, ct)).TokenIds, next.TokenIds);
    }

    [Fact]
    public async Task Without_prefix_reuse_every_prompt_is_prefilled()
    {
        var ct = TestContext.Current.CancellationToken;
        using var generator = NewGenerator(batch: 1, reuse: false);
        await generator.GenerateAsync(Prompt("Same prompt twice"), Greedy, ct);
        var again = await generator.GenerateAsync(Prompt("Same prompt twice"), Greedy, ct);
        Assert.Equal(0, again.Usage.CachedPromptTokens);
    }

    /// <summary>
    /// A running sequence keeps decoding while a long prompt is prefilled in chunks: A needs 5 more steps, B's prompt
    /// 12 chunks, so every token of A is chosen before B's only one. Each choice is recorded on the worker thread as it
    /// is made (by a constraint that allows every token), so the order does not depend on when the test reads.
    /// </summary>
    [Fact]
    public async Task Running_sequences_decode_between_the_chunks_of_a_long_prompt()
    {
        var ct = TestContext.Current.CancellationToken;
        using var model = Golden.LoadModel(AttentionImplementation.Sdpa);
        using var generator = new DbrxGenerator(model, DbrxTokenizer.Default, new DbrxGeneratorOptions { MaxBatchSize = 2, ContextLength = 128, PrefillChunkTokens = 4 });
        var choices = new ConcurrentQueue<string>();
        var a = generator.GenerateStreamingAsync([5, 17, 200], new DbrxGenerationOptions { Temperature = 0, MaxNewTokens = 6, StopTokenIds = [], ConstraintFactory = () => new RecordsChoices("A", choices) }, ct).GetAsyncEnumerator(ct);
        Assert.True(await a.MoveNextAsync());
        var b = generator.GenerateAsync([.. Enumerable.Range(0, 48).Select(i => i * 7 % 512)], new DbrxGenerationOptions { Temperature = 0, MaxNewTokens = 1, StopTokenIds = [], ConstraintFactory = () => new RecordsChoices("B", choices) }, ct);
        GenerationUpdate aLast = a.Current;
        while (await a.MoveNextAsync())
            aLast = a.Current;
        await a.DisposeAsync();
        await b;
        Assert.Equal(GenerationFinishReason.Length, aLast.FinishReason);
        Assert.Equal("AAAAAAB", string.Concat(choices));
    }

    /// <summary>Allows every token and records <paramref name="name"/> each time a token is chosen.</summary>
    private sealed class RecordsChoices(string name, ConcurrentQueue<string> choices) : ITokenConstraint
    {
        public void FillAllowedTokens(Span<ulong> allowed, int remainingTokens) => allowed.Fill(ulong.MaxValue);
        public void Accept(int tokenId) => choices.Enqueue(name);
        public bool IsComplete => false;
    }

    [Fact]
    public async Task A_long_prompt_cancelled_while_prefilling_ends_and_frees_its_row()
    {
        var ct = TestContext.Current.CancellationToken;
        using var generator = NewGenerator(batch: 1, chunk: 2);
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var request = generator.GenerateAsync(Prompt(string.Join(' ', Enumerable.Repeat("long prompt words", 60))), Greedy, cts.Token);
        cts.Cancel();
        var result = await request;
        Assert.Equal(GenerationFinishReason.Cancelled, result.FinishReason);
        Assert.Empty(result.TokenIds);
        var next = await generator.GenerateAsync(Prompt("Again"), Greedy with { MaxNewTokens = 3 }, ct);
        Assert.Equal(3, next.TokenIds.Count);
    }

    /// <summary>A constraint that allows nothing, so choosing its first token fails.</summary>
    private sealed class NothingAllowed : ITokenConstraint
    {
        public void FillAllowedTokens(Span<ulong> allowed, int remainingTokens) => allowed.Clear();
        public void Accept(int tokenId) => throw new InvalidOperationException("no token may be accepted");
        public bool IsComplete => false;
    }

    /// <summary>One request's failing choice (prefilled and decoded together with others) ends that request alone.</summary>
    [Fact]
    public async Task A_request_whose_choice_fails_ends_alone_and_the_others_finish()
    {
        var ct = TestContext.Current.CancellationToken;
        using var generator = NewGenerator(batch: 4);
        var good = Enumerable.Range(0, 3).Select(i => generator.GenerateAsync(Prompt($"fine request {i}"), Greedy with { MaxNewTokens = 6 }, ct)).ToList();
        var bad = generator.GenerateAsync(Prompt("doomed"), Greedy with { ConstraintFactory = () => new NothingAllowed() }, ct);
        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => bad);
        Assert.Contains("allows no token", error.Message);
        foreach (var result in await Task.WhenAll(good))
            Assert.Equal(6, result.TokenIds.Count);
    }

    /// <summary>A constraint that allows every token and breaks, with an error no request is expected to raise, on its second token.</summary>
    private sealed class BreaksOnSecondToken(int vocabulary) : ITokenConstraint
    {
        private int accepted;
        public void FillAllowedTokens(Span<ulong> allowed, int remainingTokens)
        {
            allowed.Clear();
            for (int id = 0; id < vocabulary; id++)
                allowed[id / 64] |= 1UL << (id % 64);
        }
        public void Accept(int tokenId)
        {
            if (++accepted == 2)
                throw new NotSupportedException("the constraint broke");
        }
        public bool IsComplete => false;
    }

    /// <summary>
    /// A failure inside a decode step that no request owns ends every running request with it (their rows are in an
    /// unknown state), and the worker goes on serving: the next request completes.
    /// </summary>
    [Fact]
    public async Task A_failed_decode_step_ends_the_running_requests_and_the_generator_keeps_serving()
    {
        var ct = TestContext.Current.CancellationToken;
        using var generator = NewGenerator(batch: 4);
        var bystander = generator.GenerateStreamingAsync(Prompt("innocent bystander"), Greedy with { MaxNewTokens = 400, StopTokenIds = [] }, ct).GetAsyncEnumerator(ct);
        Assert.True(await bystander.MoveNextAsync());
        var broken = generator.GenerateAsync(Prompt("breaks later"), Greedy with { ConstraintFactory = () => new BreaksOnSecondToken(tiny.Model.Config.VocabSize) }, ct);

        Assert.Equal("the constraint broke", (await Assert.ThrowsAsync<NotSupportedException>(() => broken)).Message);
        await Assert.ThrowsAsync<NotSupportedException>(() => ReadToEnd(bystander));
        var next = await generator.GenerateAsync(Prompt("still serving"), Greedy with { MaxNewTokens = 3 }, ct);
        Assert.Equal(3, next.TokenIds.Count);
    }

    [Fact]
    public async Task Stop_sequences_end_generation_and_never_leak()
    {
        using var generator = NewGenerator();
        var ct = TestContext.Current.CancellationToken;
        var free = await generator.GenerateAsync(Prompt("Tell me"), Greedy with { MaxNewTokens = 30 }, ct);
        Assert.True(free.Text.Length > 8, $"expected some text, got '{free.Text}'");
        // A stop string taken from the middle of the output, so it spans tokens.
        string stop = free.Text.Substring(free.Text.Length / 2 - 2, 4);
        var stopped = await generator.GenerateAsync(Prompt("Tell me"), Greedy with { MaxNewTokens = 30, StopSequences = [stop] }, ct);
        Assert.Equal(GenerationFinishReason.StopSequence, stopped.FinishReason);
        Assert.Equal(free.Text[..free.Text.IndexOf(stop, StringComparison.Ordinal)], stopped.Text);
        Assert.DoesNotContain(stop, stopped.Text);
    }

    [Fact]
    public async Task Stop_token_ids_end_the_turn()
    {
        using var generator = NewGenerator();
        var ct = TestContext.Current.CancellationToken;
        var free = await generator.GenerateAsync(Prompt("Hi"), Greedy with { MaxNewTokens = 10, StopTokenIds = [] }, ct);
        int third = free.TokenIds[2];
        var stopped = await generator.GenerateAsync(Prompt("Hi"), Greedy with { MaxNewTokens = 10, StopTokenIds = [third] }, ct);
        Assert.Equal(GenerationFinishReason.EndOfTurn, stopped.FinishReason);
        Assert.Equal(free.TokenIds.Take(free.TokenIds.ToList().IndexOf(third) + 1), stopped.TokenIds);
    }

    /// <summary>
    /// The token is cancelled on the worker thread itself, right after the third token is chosen (by a constraint that
    /// allows every token), so the count does not depend on how far the reader lags behind the worker.
    /// </summary>
    [Fact]
    public async Task Cancellation_stops_within_one_token_and_frees_the_row()
    {
        using var generator = NewGenerator(batch: 1);
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        const int cancelAfter = 3;
        var options = Greedy with { MaxNewTokens = 500, StopTokenIds = [], ConstraintFactory = () => new CancelAfter(cancelAfter, cts) };

        var updates = await generator.GenerateStreamingAsync(Prompt("Count"), options, cts.Token).ToListAsync(TestContext.Current.CancellationToken);

        Assert.Equal(GenerationFinishReason.Cancelled, updates[^1].FinishReason);
        int generated = updates.Sum(u => u.TokenIds.Count);
        Assert.InRange(generated, cancelAfter, cancelAfter + 1);
        // The single row is free again.
        var next = await generator.GenerateAsync(Prompt("Again"), Greedy with { MaxNewTokens = 3 }, TestContext.Current.CancellationToken);
        Assert.Equal(3, next.TokenIds.Count);
    }

    /// <summary>Allows every token and cancels the request's token once <paramref name="tokens"/> were chosen.</summary>
    private sealed class CancelAfter(int tokens, CancellationTokenSource cancellation) : ITokenConstraint
    {
        private int chosen;

        public void FillAllowedTokens(Span<ulong> allowed, int remainingTokens) => allowed.Fill(ulong.MaxValue);

        public void Accept(int tokenId)
        {
            if (++chosen == tokens)
                cancellation.Cancel();
        }

        public bool IsComplete => false;
    }

    /// <summary>Disposing ends the running request as cancelled, fails the one waiting for its row, and refuses new ones.</summary>
    [Fact]
    public async Task Disposing_cancels_the_running_request_and_fails_the_waiting_one()
    {
        var ct = TestContext.Current.CancellationToken;
        var generator = NewGenerator(batch: 1);
        var running = generator.GenerateStreamingAsync(Prompt("running"), Greedy with { MaxNewTokens = 400, StopTokenIds = [] }, ct).GetAsyncEnumerator(ct);
        Assert.True(await running.MoveNextAsync());
        var waiting = generator.GenerateAsync(Prompt("waiting"), Greedy, ct);

        generator.Dispose();
        GenerationUpdate last = running.Current;
        while (await running.MoveNextAsync())
            last = running.Current;
        await running.DisposeAsync();
        Assert.Equal(GenerationFinishReason.Cancelled, last.FinishReason);
        await Assert.ThrowsAsync<ObjectDisposedException>(() => waiting);
        Assert.Throws<ObjectDisposedException>(() => generator.GenerateStreamingAsync(Prompt("late"), Greedy, ct));
    }

    [Fact]
    public void A_cancelled_token_is_refused_before_any_work()
    {
        using var generator = NewGenerator();
        Assert.Throws<OperationCanceledException>(() => generator.GenerateStreamingAsync(Prompt("x"), Greedy, new CancellationToken(canceled: true)));
    }

    [Fact]
    public async Task A_consumer_that_stops_reading_ends_its_request()
    {
        using var generator = NewGenerator(batch: 1);
        await foreach (var _ in generator.GenerateStreamingAsync(Prompt("Go"), Greedy with { MaxNewTokens = 400 }, TestContext.Current.CancellationToken))
            break;
        var next = await generator.GenerateAsync(Prompt("Next"), Greedy with { MaxNewTokens = 2 }, TestContext.Current.CancellationToken);
        Assert.Equal(2, next.TokenIds.Count);
    }

    [Fact]
    public async Task A_full_queue_says_busy_and_recovers()
    {
        using var generator = NewGenerator(batch: 1, queue: 1);
        var ct = TestContext.Current.CancellationToken;
        var long1 = generator.GenerateAsync(Prompt("a"), Greedy with { MaxNewTokens = 200 }, ct);
        var long2 = generator.GenerateAsync(Prompt("b"), Greedy with { MaxNewTokens = 200 }, ct);
        var errors = 0;
        for (int i = 0; i < 3; i++)
        {
            try
            {
                _ = generator.GenerateStreamingAsync(Prompt("c"), Greedy, ct);
            }
            catch (DbrxBusyException e)
            {
                errors++;
                Assert.Contains("busy", e.Message);
            }
        }
        Assert.True(errors >= 1);
        await Task.WhenAll(long1, long2);
        var after = await generator.GenerateAsync(Prompt("d"), Greedy with { MaxNewTokens = 2 }, ct);
        Assert.Equal(2, after.TokenIds.Count);
    }

    [Fact]
    public async Task A_slow_reader_does_not_stall_other_requests()
    {
        using var generator = NewGenerator(batch: 2);
        var ct = TestContext.Current.CancellationToken;
        var unread = generator.GenerateStreamingAsync(Prompt("never read"), Greedy with { MaxNewTokens = 100 }, ct);
        var other = await generator.GenerateAsync(Prompt("read"), Greedy with { MaxNewTokens = 20 }, ct).WaitAsync(TimeSpan.FromSeconds(60), ct);
        Assert.Equal(20, other.TokenIds.Count);
        int count = 0;
        await foreach (var update in unread)
            count += update.TokenIds.Count;
        Assert.Equal(100, count);
    }

    [Fact]
    public async Task Prompts_beyond_the_context_fail_clearly_or_are_truncated_on_request()
    {
        using var generator = NewGenerator(context: 32);
        int[] prompt = Enumerable.Range(1000, 30).ToArray();
        var error = Assert.Throws<DbrxContextLengthException>(() => generator.GenerateStreamingAsync(prompt, Greedy with { MaxNewTokens = 5 }, TestContext.Current.CancellationToken));
        Assert.Contains("The prompt has 30 tokens and MaxNewTokens is 5: together 35, beyond the context of 32 tokens", error.Message);
        Assert.Equal((30, 5, 32), (error.PromptTokens, error.MaxNewTokens, error.ContextLength));
        // The sum is reported without overflowing (it read "together -2147483619" before).
        error = Assert.Throws<DbrxContextLengthException>(() => generator.GenerateStreamingAsync(prompt, Greedy with { MaxNewTokens = int.MaxValue }, TestContext.Current.CancellationToken));
        Assert.Contains("MaxNewTokens is 2,147,483,647: together 2,147,483,677, beyond the context of 32 tokens", error.Message);
        var result = await generator.GenerateAsync(prompt, Greedy with { MaxNewTokens = 5, TruncatePromptFromLeft = true }, TestContext.Current.CancellationToken);
        Assert.Equal(27, result.Usage.PromptTokens);
        Assert.Equal(5, result.Usage.CompletionTokens);
    }

    [Fact]
    public void A_system_only_conversation_is_refused_saying_why()
    {
        using var generator = NewGenerator();
        var error = Assert.Throws<ArgumentException>(() => generator.GenerateChatStreamingAsync([DbrxChatMessage.System("Be brief.")], Greedy, cancellationToken: TestContext.Current.CancellationToken));
        Assert.Contains("only a system message renders to nothing", error.Message);
        Assert.Contains("Add a user message", error.Message);
    }

    [Theory]
    [InlineData("temperature", "Temperature must be a finite number ≥ 0")]
    [InlineData("top_p", "TopP must be in (0, 1], not 1.5")]
    [InlineData("top_k", "TopK must be ≥ 0")]
    [InlineData("max", "MaxNewTokens must be at least 1, not 0")]
    [InlineData("rep", "RepetitionPenalty must be a finite number > 0")]
    [InlineData("freq", "FrequencyPenalty must be in [-2, 2], not 3")]
    [InlineData("bias", "LogitBias names token id 200000, outside the model's vocabulary of 100352 ids")]
    [InlineData("stop", "StopSequences must not contain null or empty strings")]
    public void Invalid_options_are_rejected_before_any_work(string which, string message)
    {
        using var generator = NewGenerator();
        DbrxGenerationOptions options = which switch
        {
            "temperature" => Greedy with { Temperature = -0.1 },
            "top_p" => Greedy with { TopP = 1.5 },
            "top_k" => Greedy with { TopK = -1 },
            "max" => Greedy with { MaxNewTokens = 0 },
            "rep" => Greedy with { RepetitionPenalty = 0 },
            "freq" => Greedy with { FrequencyPenalty = 3 },
            "bias" => Greedy with { LogitBias = new Dictionary<int, double> { [200000] = 1 } },
            _ => Greedy with { StopSequences = [""] },
        };
        var error = Assert.Throws<ArgumentException>(() => generator.GenerateStreamingAsync(Prompt("x"), options, TestContext.Current.CancellationToken));
        Assert.Contains(message, error.Message);
    }

    [Fact]
    public async Task Chat_requests_render_the_template_and_report_usage_and_timings()
    {
        using var generator = NewGenerator();
        var messages = new[] { DbrxChatMessage.User("What is 2+2?") };
        var result = await generator.GenerateChatAsync(messages, Greedy with { MaxNewTokens = 6 }, cancellationToken: TestContext.Current.CancellationToken);
        int promptTokens = DbrxChatTemplate.Default.Encode(messages, true, DbrxTokenizer.Default).Length;
        Assert.Equal(new GenerationUsage(promptTokens, result.TokenIds.Count), result.Usage);
        Assert.True(result.Timings.TimeToFirstToken > TimeSpan.Zero);
        Assert.True(result.Timings.Total >= result.Timings.TimeToFirstToken);
        if (result.TokenIds.Count > 1)
            Assert.True(result.Timings.DecodeTokensPerSecond > 0);
    }

    [Fact]
    public async Task Many_sequential_requests_reuse_the_cache_rows()
    {
        using var generator = NewGenerator(batch: 2, context: 64);
        var ct = TestContext.Current.CancellationToken;
        for (int round = 0; round < 10; round++)
        {
            var results = await Task.WhenAll(Enumerable.Range(0, 3).Select(i => generator.GenerateAsync(Prompt($"round {round} request {i}"), Greedy with { MaxNewTokens = 8 }, ct)));
            Assert.All(results, r => Assert.Equal(8, r.TokenIds.Count));
        }
    }
}
