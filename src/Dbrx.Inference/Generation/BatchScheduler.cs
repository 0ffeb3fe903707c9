using Dbrx.Inference.Generation.PrefixCache;
using Dbrx.Inference.Modeling;
using static TorchSharp.torch;

namespace Dbrx.Inference.Generation;

/// <summary>
/// The generator's worker thread. It owns the model and the KV cache from the start (TorchSharp's dispose scopes and
/// grad mode are per thread) and serves the queued requests in batches, step by step. Which cache row each request
/// uses, and what is kept, copied and moved, is <see cref="CacheRowPlan{TRequest}"/>'s to say: this applies the
/// operations it returns to the cache and runs the model over the rows. With a prefix cache, every sequence's whole
/// blocks are kept there when its prompt is in and when it ends, and a new prompt starts from the cache's blocks when
/// they give it more than any row does.
/// </summary>
internal sealed class BatchScheduler
{
    private readonly DbrxForCausalLM model;
    private readonly DbrxKvCache cache;
    private readonly RequestQueue queue;
    private readonly int prefillChunkTokens;
    private readonly CacheRowPlan<GenerationSequence> plan;
    private readonly PrefixCache.PrefixCache? prefixCache;
    private readonly Thread thread;
    private int rowsInUse;
    private long positionsHeld;
    private long promptTokensQueried;
    private long promptTokensCached;

    /// <summary>Starts the worker thread.</summary>
    public BatchScheduler(DbrxForCausalLM model, DbrxKvCache cache, RequestQueue queue, DbrxGeneratorOptions options, PrefixCache.PrefixCache? prefixCache)
    {
        this.model = model;
        this.cache = cache;
        this.queue = queue;
        this.prefixCache = prefixCache;
        prefillChunkTokens = options.PrefillChunkTokens;
        plan = new CacheRowPlan<GenerationSequence>(cache.Rows, options.ReusePromptPrefixes, sequence => sequence.Tokens);
        thread = new Thread(Run) { IsBackground = true, Name = "DBRX generator" };
        thread.Start();
    }

    /// <summary>Rows used by requests, running or being prefilled, as of the last step.</summary>
    public int RowsInUse => Volatile.Read(ref rowsInUse);

    /// <summary>KV cache positions the running requests hold, as of the last step.</summary>
    public long PositionsHeld => Volatile.Read(ref positionsHeld);

    /// <summary>Prompt tokens of the requests admitted so far.</summary>
    public long PromptTokensQueried => Interlocked.Read(ref promptTokensQueried);

    /// <summary>Of <see cref="PromptTokensQueried"/>, those a kept row or the prefix cache gave.</summary>
    public long PromptTokensCached => Interlocked.Read(ref promptTokensCached);

    /// <summary>Waits until the worker has ended, once the queue is stopping.</summary>
    public void Join() => thread.Join();

    /// <summary>
    /// Each step: prefill waiting prompts, <see cref="DbrxGeneratorOptions.PrefillChunkTokens"/> tokens at most (a
    /// prompt whose last token is in joins the running requests); end the running requests that were cancelled; decode
    /// one token for every running request; release the requests that finished. Idle, it sleeps until a request comes.
    /// </summary>
    private void Run()
    {
        while (true)
        {
            try
            {
                Prefill(prefillChunkTokens);
                Volatile.Write(ref rowsInUse, plan.InUse);
                Volatile.Write(ref positionsHeld, plan.Running.Sum(plan.LengthOf));
                if (plan.InUse == 0)
                {
                    if (!queue.WaitForRequests())
                        return;
                    continue;
                }
                EndCancelled();
                if (plan.Running.Count > 0)
                    Release(DecodeOneStep());
            }
            catch (Exception e)
            {
                EndAll(e);
            }
        }
    }

    /// <summary>
    /// Prefills up to <paramref name="budget"/> prompt tokens: the rest of the prompt in progress; then waiting prompts
    /// whose rest (after what the cache already holds of them) fits the budget whole, together in one forward pass;
    /// then a prompt too long for it, chunk by chunk.
    /// </summary>
    private void Prefill(int budget)
    {
        while (budget > 0)
        {
            if (plan.Prefilling.Count == 0)
            {
                List<GenerationSequence> group = TakeWholePrompts(budget);
                if (group.Count > 0)
                {
                    budget -= PrefillTogether(group);
                    continue;
                }
                if (!TakeWaiting())
                    return;
            }
            budget -= PrefillChunk(plan.Prefilling[0], budget);
        }
    }

    /// <summary>Running requests cancelled (all of them, when the generator stops) end before the step that would decode them.</summary>
    private void EndCancelled()
    {
        GenerationSequence[] cancelled = [.. plan.Running.Where(sequence => sequence.IsCancelled || queue.IsStopping)];
        foreach (GenerationSequence sequence in cancelled)
            sequence.FinishCancelled();
        Release(cancelled);
    }

    /// <summary>One decode step: every running request's last token in one forward pass; returns the requests that finished.</summary>
    private GenerationSequence[] DecodeOneStep()
    {
        IReadOnlyList<GenerationSequence> running = plan.Running;
        using var scope = NewDisposeScope();
        var input = tensor(running.Select(sequence => (long)sequence.LastToken).ToArray(), [running.Count, 1], ScalarType.Int64);
        long[] positions = [.. running.Select(plan.LengthOf)];
        using var logits = model.Forward(input, positions, cache, logitsAt: new int[running.Count]);
        foreach (GenerationSequence sequence in running)
            Apply([plan.Written(sequence, 1)]);
        return Finished(running, BatchTokenChooser.ChooseNext(logits, running));
    }

    /// <summary>Running requests that ended leave the batch, their blocks stored and their rows kept or freed as the plan says.</summary>
    private void Release(IReadOnlyList<GenerationSequence> ended)
    {
        try
        {
            foreach (GenerationSequence sequence in ended)
                StoreBlocks(sequence, [.. sequence.Tokens]);
            Apply(plan.Release(ended));
        }
        finally
        {
            foreach (GenerationSequence sequence in ended)
                sequence.Dispose();
        }
    }

    /// <summary>
    /// Takes waiting requests, in order, as many as rows are free, while the prompt tokens they still need (what no
    /// cache row holds) fit <paramref name="budget"/> when padded to the longest of them (rows x longest). Each one's
    /// row gets its cached prefix as it is taken, so a later one never reads a row an earlier one overwrote. Cancelled
    /// ones are finished on the way.
    /// </summary>
    private List<GenerationSequence> TakeWholePrompts(int budget)
    {
        var group = new List<GenerationSequence>();
        int widest = 0;
        while (plan.HasFreeRow && queue.TryTake(next => next.IsCancelled || queue.IsStopping || FitsGroup(group, widest, next, budget), out GenerationSequence? next))
        {
            if (!MayStart(next))
                continue;
            Admit(next);
            group.Add(next);
            widest = Math.Max(widest, next.Prompt.Length - next.CachedPromptTokens);
        }
        return group;
    }

    /// <summary>
    /// Whether <paramref name="next"/> can be prefilled in <paramref name="group"/>'s pass: its rows padded to the widest
    /// rest within <paramref name="budget"/>, and within every row's capacity (padding is written after each row's cached
    /// prefix too).
    /// </summary>
    private bool FitsGroup(List<GenerationSequence> group, int widest, GenerationSequence next, int budget)
    {
        int cached = Math.Max(plan.CachedPrefix(next.Prompt).Length, prefixCache?.PrefixLength(next.Prompt) ?? 0);
        int width = Math.Max(widest, next.Prompt.Length - cached);
        return (group.Count + 1) * width <= budget && cached + width <= cache.Capacity
            && group.All(g => g.CachedPromptTokens + width <= cache.Capacity);
    }

    /// <summary>
    /// Prefills the rest of each prompt (after its cached prefix) in one forward pass over the group's rows, padded on
    /// the right to the widest (a causal model's real positions never see the padding, and each row's length is
    /// committed as its own), then lets each join the batch with its first token chosen. Returns the padded tokens spent.
    /// </summary>
    private int PrefillTogether(List<GenerationSequence> group)
    {
        int first = plan.RowOf(group[0]);
        int[] fresh = [.. group.Select(g => g.Prompt.Length - g.CachedPromptTokens)];
        int widest = fresh.Max();
        try
        {
            using var scope = NewDisposeScope();
            using var rows = cache.Slice(first, group.Count);
            var ids = new long[group.Count * widest];
            for (int i = 0; i < group.Count; i++)
                for (int t = 0; t < fresh[i]; t++)
                    ids[i * widest + t] = group[i].Prompt[group[i].CachedPromptTokens + t];
            // Each row from its cached length; the logits of its last real token.
            using var last = model.Forward(tensor(ids, [group.Count, widest], ScalarType.Int64), [.. group.Select(g => (long)g.CachedPromptTokens)], rows,
                logitsAt: [.. fresh.Select(f => f - 1)]);
            for (int i = 0; i < group.Count; i++)
                Apply([plan.Written(group[i], fresh[i])]);
            StartDecoding(group, last);
        }
        catch (Exception e)
        {
            Apply(plan.Drop(group));
            foreach (GenerationSequence sequence in group)
                Retire(sequence, e);
        }
        return group.Count * widest;
    }

    /// <summary>Takes the next waiting request into the first free row, to be prefilled chunk by chunk; false when none can start.</summary>
    private bool TakeWaiting()
    {
        while (plan.HasFreeRow && queue.TryTake(_ => true, out GenerationSequence? next))
        {
            if (MayStart(next))
            {
                Admit(next);
                return true;
            }
        }
        return false;
    }

    /// <summary>
    /// Prefills the next chunk, at most <paramref name="budget"/> tokens, of the prompt being prefilled; with its last
    /// token in, it joins the batch. Returns the tokens spent.
    /// </summary>
    private int PrefillChunk(GenerationSequence sequence, int budget)
    {
        if (sequence.IsCancelled || queue.IsStopping)
        {
            sequence.FinishCancelled();
            Apply(plan.Drop([sequence]));
            sequence.Dispose();
            return 0;
        }
        int row = plan.RowOf(sequence), admitted = (int)plan.LengthOf(sequence);
        int count = Math.Min(budget, sequence.Prompt.Length - admitted);
        try
        {
            using var scope = NewDisposeScope();
            using var slot = cache.Slice(row, 1);
            var input = tensor(sequence.Prompt.Skip(admitted).Take(count).Select(id => (long)id).ToArray(), [1, count], ScalarType.Int64);
            using var logits = model.Forward(input, [admitted], slot, logitsAt: [count - 1]);
            Apply([plan.Written(sequence, count)]);
            if (admitted + count == sequence.Prompt.Length)
                StartDecoding([sequence], logits);
        }
        catch (Exception e)
        {
            Apply(plan.Drop([sequence]));
            Retire(sequence, e);
        }
        return count;
    }

    /// <summary>
    /// Gives a request the first free row, holding the longest prefix of its prompt that a row or the prefix cache has
    /// (the row's when it is as long: a copy within the cache).
    /// </summary>
    private void Admit(GenerationSequence sequence)
    {
        int inRows = plan.CachedPrefix(sequence.Prompt).Length;
        IReadOnlyList<PrefixBlockLocation> blocks = prefixCache?.Lookup(sequence.Prompt) ?? [];
        int inBlocks = blocks.Count * (prefixCache?.BlockTokens ?? 0);
        Apply(plan.Admit(sequence, sequence.Prompt, loadedPrefix: inBlocks > inRows ? inBlocks : 0));
        if (inBlocks > inRows)
            prefixCache!.Load(blocks, cache, plan.RowOf(sequence));
        sequence.CachedPromptTokens = (int)plan.LengthOf(sequence);
        Interlocked.Add(ref promptTokensQueried, sequence.Prompt.Length);
        Interlocked.Add(ref promptTokensCached, sequence.CachedPromptTokens);
    }

    /// <summary>Keeps a sequence's whole blocks (of the tokens its row holds) in the prefix cache, when there is one.</summary>
    private void StoreBlocks(GenerationSequence sequence, IReadOnlyList<int> tokens) =>
        prefixCache?.Store(tokens, plan.LengthOf(sequence), cache, plan.RowOf(sequence));

    /// <summary>
    /// Prompts whose last token is in join the running requests (their prompt's blocks stored for the requests that
    /// follow), each with its first token chosen from its row of <paramref name="logits"/>.
    /// </summary>
    private void StartDecoding(IReadOnlyList<GenerationSequence> prefilled, Tensor logits)
    {
        foreach (GenerationSequence sequence in prefilled)
        {
            StoreBlocks(sequence, sequence.Prompt);
            plan.Join(sequence);
        }
        Release(Finished(prefilled, BatchTokenChooser.ChooseNext(logits, prefilled)));
    }

    /// <summary>Ends a dequeued request that must not start (the generator is stopping, or it was cancelled while waiting).</summary>
    private bool MayStart(GenerationSequence next)
    {
        if (queue.IsStopping)
        {
            Retire(next, new ObjectDisposedException(nameof(DbrxGenerator)));
            return false;
        }
        if (next.IsCancelled)
        {
            next.FinishCancelled();
            next.Dispose();
            return false;
        }
        return true;
    }

    /// <summary>
    /// After a failure no single request owns (a batch step, a cache copy), every row's contents are unknown: the running
    /// requests and those being prefilled end with the error, and the cache starts empty for the waiting ones.
    /// </summary>
    private void EndAll(Exception error)
    {
        foreach (GenerationSequence sequence in plan.Running.Concat(plan.Prefilling).ToList())
            Retire(sequence, error);
        Apply(plan.Clear());
        prefixCache?.Clear();
    }

    private void Apply(IEnumerable<CacheOperation> operations) => CacheOperation.Apply(operations, cache);

    private static GenerationSequence[] Finished(IReadOnlyList<GenerationSequence> sequences, bool[] done) =>
        [.. sequences.Where((_, i) => done[i])];

    private static void Retire(GenerationSequence sequence, Exception error)
    {
        sequence.Fail(error);
        sequence.Dispose();
    }
}
