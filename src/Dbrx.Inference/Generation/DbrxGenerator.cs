using System.Runtime.CompilerServices;
using Dbrx.Inference.Chat;
using Dbrx.Inference.Modeling;
using Dbrx.Inference.Tokenization;
using static TorchSharp.torch;

namespace Dbrx.Inference.Generation;

/// <summary>
/// Serves generation requests on one model from many callers. A dedicated worker thread owns the model (TorchSharp's
/// dispose scopes and grad mode are per thread); callers enqueue requests and read their tokens from a channel.
/// Each decode step runs every active sequence in one forward pass over a shared static KV cache: each sequence has
/// its own cache row and position, a finished one leaves the batch and a waiting one joins once its prompt is
/// prefilled into the next free row, <see cref="DbrxGeneratorOptions.PrefillChunkTokens"/> tokens per step, so the
/// running sequences keep decoding between the chunks of a long prompt; short prompts waiting together are
/// prefilled in one pass. A finished sequence's keys and values stay in its free row, and a prompt that starts with the
/// same tokens as a kept or running sequence continues from a copy of them
/// (<see cref="DbrxGeneratorOptions.ReusePromptPrefixes"/>).
/// </summary>
/// <remarks>
/// Thread-safe. Requests beyond <see cref="DbrxGeneratorOptions.MaxQueuedRequests"/> waiting ones fail at once with
/// <see cref="DbrxBusyException"/>. Each request's updates are buffered, so a slow reader never stalls the others.
/// Cancellation is checked before each prompt chunk and before every decode step; a cancelled request ends with
/// <see cref="GenerationFinishReason.Cancelled"/> and its cache row is reused.
/// </remarks>
public sealed class DbrxGenerator : IDbrxEngine
{
    private readonly DbrxKvCache cache;
    private readonly bool ownsModel;
    private readonly Queue<GenerationSequence> waiting = new();
    private readonly List<GenerationSequence> active = [];
    // The prompt being prefilled, in the row after the active ones, and how many of its tokens are in the cache.
    private GenerationSequence? admitting;
    private int admitted;
    private readonly CachedPrefixes kept = new();
    private readonly SemaphoreSlim wake = new(0);
    private readonly Thread worker;
    private volatile bool stopping;
    private int activeCount;

    /// <summary>Allocates the KV cache and starts the worker thread.</summary>
    /// <param name="model">The model; the generator runs it on its own thread from now on.</param>
    /// <param name="tokenizer">Decodes the output; also encodes chat prompts.</param>
    /// <param name="options">Batch size, queue length and context length.</param>
    /// <param name="ownsModel">Dispose the model with the generator.</param>
    public DbrxGenerator(DbrxForCausalLM model, DbrxTokenizer tokenizer, DbrxGeneratorOptions? options = null, bool ownsModel = false)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(tokenizer);
        Options = options ?? new DbrxGeneratorOptions();
        if (Options.MaxBatchSize < 1)
            throw new ArgumentException($"MaxBatchSize must be at least 1, not {Options.MaxBatchSize}.", nameof(options));
        if (Options.MaxQueuedRequests < 0)
            throw new ArgumentException($"MaxQueuedRequests must be ≥ 0, not {Options.MaxQueuedRequests}.", nameof(options));
        if (Options.PrefillChunkTokens < 1)
            throw new ArgumentException($"PrefillChunkTokens must be at least 1, not {Options.PrefillChunkTokens}.", nameof(options));
        if (Options.ContextLength is { } length && (length < 2 || length > model.Config.MaxSeqLen))
            throw new ArgumentException($"ContextLength must be between 2 and the model's max_seq_len ({model.Config.MaxSeqLen}), not {length}.", nameof(options));
        Model = model;
        Tokenizer = tokenizer;
        this.ownsModel = ownsModel;
        ContextLength = Options.ContextLength ?? model.Config.DefaultContextLength;
        cache = model.CreateCache(Options.MaxBatchSize, ContextLength);
        worker = new Thread(Run) { IsBackground = true, Name = "DBRX generator" };
        worker.Start();
    }

    /// <summary>The model this generator runs.</summary>
    public DbrxForCausalLM Model { get; }

    /// <summary>The tokenizer used for output text and chat prompts.</summary>
    public DbrxTokenizer Tokenizer { get; }

    /// <summary>The serving options.</summary>
    public DbrxGeneratorOptions Options { get; }

    /// <summary>Tokens per sequence, prompt and output together.</summary>
    public int ContextLength { get; }

    /// <inheritdoc/>
    public int VocabularySize => Model.Config.VocabSize;

    /// <summary>Requests waiting for a batch row, at this moment (for monitoring: a server's queue-length gauge).</summary>
    public int WaitingRequests
    {
        get
        {
            lock (waiting)
                return waiting.Count;
        }
    }

    /// <summary>
    /// Batch rows in use by requests, the prompt being prefilled included, as of the worker's last step (for monitoring).
    /// A finished or cancelled request's row counts until the worker's next step frees it.
    /// </summary>
    public int RunningRequests => Volatile.Read(ref activeCount);

    /// <summary>
    /// Starts generating from prompt token ids and streams the result. Options are validated and the request queued
    /// before this returns, so invalid input throws here, before any work.
    /// </summary>
    /// <exception cref="ArgumentException">Invalid options, an id outside the model's vocabulary, or a prompt too long for the context.</exception>
    /// <exception cref="DbrxBusyException">Too many requests are waiting.</exception>
    /// <exception cref="OperationCanceledException">The token was already cancelled.</exception>
    public IAsyncEnumerable<GenerationUpdate> GenerateStreamingAsync(IReadOnlyList<int> promptTokenIds, DbrxGenerationOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(promptTokenIds);
        cancellationToken.ThrowIfCancellationRequested();
        options ??= new DbrxGenerationOptions();
        options.Validate(Model.Config.VocabSize);
        int[] prompt = FitToContext(promptTokenIds, options);

        var sequence = new GenerationSequence(prompt, options, Tokenizer, cancellationToken);
        lock (waiting)
        {
            if (stopping)
            {
                sequence.Dispose();
                throw new ObjectDisposedException(nameof(DbrxGenerator));
            }
            // Requests that a free batch row will take at once do not count as waiting.
            if (waiting.Count >= Options.MaxQueuedRequests + Math.Max(0, Options.MaxBatchSize - Volatile.Read(ref activeCount)))
            {
                sequence.Dispose();
                throw new DbrxBusyException($"The DBRX generator is busy: {waiting.Count} requests are already waiting (MaxQueuedRequests = {Options.MaxQueuedRequests}). Retry later.");
            }
            waiting.Enqueue(sequence);
        }
        wake.Release();
        return ReadUpdates(sequence, default);
    }

    /// <summary>Generates from prompt token ids and returns the whole result (the streaming path, collected).</summary>
    public async Task<GenerationResult> GenerateAsync(IReadOnlyList<int> promptTokenIds, DbrxGenerationOptions? options = null, CancellationToken cancellationToken = default) =>
        await Collect(GenerateStreamingAsync(promptTokenIds, options, cancellationToken));

    /// <summary>Renders a conversation with the chat template (generation prompt added) and streams the answer.</summary>
    public IAsyncEnumerable<GenerationUpdate> GenerateChatStreamingAsync(IReadOnlyList<DbrxChatMessage> messages, DbrxGenerationOptions? options = null, DbrxChatTemplate? template = null, CancellationToken cancellationToken = default) =>
        GenerateStreamingAsync((template ?? DbrxChatTemplate.Default).Encode(messages, addGenerationPrompt: true, Tokenizer), options, cancellationToken);

    /// <summary>Renders a conversation with the chat template and returns the whole answer.</summary>
    public async Task<GenerationResult> GenerateChatAsync(IReadOnlyList<DbrxChatMessage> messages, DbrxGenerationOptions? options = null, DbrxChatTemplate? template = null, CancellationToken cancellationToken = default) =>
        await Collect(GenerateChatStreamingAsync(messages, options, template, cancellationToken));

    private static async Task<GenerationResult> Collect(IAsyncEnumerable<GenerationUpdate> updates)
    {
        var text = new System.Text.StringBuilder();
        var tokens = new List<int>();
        await foreach (GenerationUpdate update in updates)
        {
            text.Append(update.Text);
            tokens.AddRange(update.TokenIds);
            if (update.FinishReason is { } reason)
                return new GenerationResult(text.ToString(), tokens, reason, update.Usage!, update.Timings!);
        }
        throw new InvalidOperationException("The generation stream ended without a finish reason.");
    }

    private int[] FitToContext(IReadOnlyList<int> prompt, DbrxGenerationOptions options)
    {
        if (prompt.Count == 0)
            throw new ArgumentException(
                "The prompt has no tokens. (A conversation of only a system message renders to nothing with DBRX's chat template, as with the reference's: "
                + "the system text is written with the first user or assistant message. Add a user message.)", nameof(prompt));
        int vocabulary = Model.Config.VocabSize;
        foreach (int id in prompt)
        {
            if (id < 0 || id >= vocabulary)
                throw new ArgumentException($"Prompt token id {id} is outside the model's vocabulary of {vocabulary} ids (0..{vocabulary - 1}).", nameof(prompt));
        }
        return DbrxContextFit.Fit(prompt, options.MaxNewTokens, ContextLength, options.TruncatePromptFromLeft);
    }

    private static async IAsyncEnumerable<GenerationUpdate> ReadUpdates(GenerationSequence sequence, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        using var registration = cancellationToken.Register(sequence.Cancel);
        try
        {
            await foreach (GenerationUpdate update in sequence.Updates.ReadAllAsync(CancellationToken.None))
                yield return update;
        }
        finally
        {
            // A consumer that stops reading early ends the request; the worker frees its row at the next step.
            sequence.Cancel();
        }
    }

    private void Run()
    {
        while (true)
        {
            try
            {
                Prefill();
                Volatile.Write(ref activeCount, active.Count + (admitting is null ? 0 : 1));
                if (active.Count == 0 && admitting is null)
                {
                    if (stopping)
                        break;
                    bool queued;
                    lock (waiting)
                        queued = waiting.Count > 0;
                    if (!queued)
                        wake.Wait();
                    continue;
                }
                Step();
            }
            catch (Exception e)
            {
                EndAll(e);
            }
        }
    }

    /// <summary>
    /// Prefills up to <see cref="DbrxGeneratorOptions.PrefillChunkTokens"/> prompt tokens: the rest of the prompt in
    /// progress; then waiting prompts whose rest (after what the cache already holds of them) fits the budget whole,
    /// together in one forward pass; then a prompt too long for it, chunk by chunk, into the row after the active
    /// ones. A prompt whose last token is in joins the batch with its first token chosen; one that is not goes on at
    /// the next call.
    /// </summary>
    private void Prefill()
    {
        int budget = Options.PrefillChunkTokens;
        while (budget > 0)
        {
            if (admitting is null)
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
            budget -= PrefillChunk(budget);
        }
    }

    /// <summary>
    /// Prefills the next chunk, at most <paramref name="budget"/> tokens, of the prompt being admitted into the row after
    /// the active ones; with its last token in, it joins the batch. Returns the tokens spent.
    /// </summary>
    private int PrefillChunk(int budget)
    {
        GenerationSequence sequence = admitting!;
        int row = active.Count;
        if (sequence.IsCancelled || stopping)
        {
            sequence.FinishCancelled();
            sequence.Dispose();
            cache.Reset(row);
            admitting = null;
            return 0;
        }
        int count = Math.Min(budget, sequence.Prompt.Length - admitted);
        try
        {
            using var scope = NewDisposeScope();
            using var slot = cache.Slice(row, 1);
            var input = tensor(sequence.Prompt.Skip(admitted).Take(count).Select(id => (long)id).ToArray(), [1, count], ScalarType.Int64);
            using var logits = Model.Forward(input, [admitted], slot, logitsAt: [count - 1]);
            admitted += count;
            slot.SetLength(0, admitted);
            if (admitted < sequence.Prompt.Length)
                return count;
            admitting = null;
            active.Add(sequence);
            if (ChooseNext(logits, [sequence])[0])
                Release(row);
        }
        catch (Exception e)
        {
            if (active.Count > row)
                active.RemoveAt(row);
            admitting = null;
            cache.Reset(row);
            Retire(sequence, e);
        }
        return count;
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
        while (active.Count + group.Count < Options.MaxBatchSize)
        {
            GenerationSequence? next;
            (int Row, int Length) prefix = (-1, 0);
            lock (waiting)
            {
                if (!waiting.TryPeek(out next))
                    break;
                if (!next.IsCancelled && !stopping)
                {
                    prefix = LongestCachedPrefix(next.Prompt);
                    int cached = prefix.Length;
                    int width = Math.Max(widest, next.Prompt.Length - cached);
                    // Padding writes every row up to its cached length + width: that must fit each row.
                    bool fits = (group.Count + 1) * width <= budget && cached + width <= cache.Capacity
                        && group.All(g => g.CachedPromptTokens + width <= cache.Capacity);
                    if (!fits)
                        break;
                }
                waiting.Dequeue();
            }
            if (!MayStart(next))
                continue;
            try
            {
                StartFromCachedPrefix(next, active.Count + group.Count, prefix);
            }
            catch (Exception e)
            {
                // Taken from the queue but not yet running: nobody else would end them.
                foreach (GenerationSequence taken in group.Append(next))
                    Retire(taken, e);
                throw;
            }
            group.Add(next);
            widest = Math.Max(widest, next.Prompt.Length - next.CachedPromptTokens);
        }
        return group;
    }

    /// <summary>
    /// Prefills the rest of each prompt (after its cached prefix) in one forward pass over the rows after the active
    /// ones, padded on the right to the widest (a causal model's real positions never see the padding, and each row's
    /// length is set back to its own), then lets each join the batch with its first token chosen. Returns the padded
    /// tokens spent.
    /// </summary>
    private int PrefillTogether(List<GenerationSequence> group)
    {
        int first = active.Count;
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
            using var last = Model.Forward(tensor(ids, [group.Count, widest], ScalarType.Int64), [.. group.Select(g => (long)g.CachedPromptTokens)], rows,
                logitsAt: [.. fresh.Select(f => f - 1)]);
            for (int i = 0; i < group.Count; i++)
                rows.SetLength(i, group[i].Prompt.Length);
            active.AddRange(group);
            bool[] done = ChooseNext(last, group);
            for (int i = group.Count - 1; i >= 0; i--)
            {
                if (done[i])
                    Release(first + i);
            }
        }
        catch (Exception e)
        {
            foreach (GenerationSequence sequence in group)
            {
                int row = active.IndexOf(sequence);
                if (row >= 0)
                    active.RemoveAt(row);
                Retire(sequence, e);
            }
            for (int row = first; row < first + group.Count; row++)
                cache.Reset(row);
        }
        return group.Count * widest;
    }

    /// <summary>Ends a dequeued request that must not start (the generator is stopping, or it was cancelled while waiting).</summary>
    private bool MayStart(GenerationSequence next)
    {
        if (stopping)
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

    /// <summary>Takes the next waiting request into the free row after the active ones; false when none can start.</summary>
    private bool TakeWaiting()
    {
        while (active.Count < Options.MaxBatchSize)
        {
            GenerationSequence? next;
            lock (waiting)
            {
                if (!waiting.TryDequeue(out next))
                    return false;
            }
            if (!MayStart(next))
                continue;
            admitting = next;
            admitted = StartFromCachedPrefix(next, active.Count, LongestCachedPrefix(next.Prompt));
            return true;
        }
        return false;
    }

    /// <summary>
    /// The row whose keys and values give <paramref name="prompt"/> the longest start: a kept row, or a running
    /// sequence's (its positions below its length never change). Length 0 when none shares a first token.
    /// </summary>
    private (int Row, int Length) LongestCachedPrefix(int[] prompt)
    {
        if (!Options.ReusePromptPrefixes)
            return (-1, 0);
        (int Row, int Length) best = kept.Longest(prompt);
        for (int row = 0; row < active.Count; row++)
        {
            int length = CachedPrefixes.Reusable(active[row].Tokens, cache.Lengths[row], prompt);
            if (length > best.Length)
                best = (row, length);
        }
        return best;
    }

    /// <summary>
    /// Prepares <paramref name="row"/>, a free row, for <paramref name="sequence"/>: <paramref name="prefix"/>, the longest
    /// prefix of its prompt that the cache holds (<see cref="LongestCachedPrefix"/>), is copied there (those positions
    /// only), or the row is emptied. Returns the prompt tokens in place.
    /// </summary>
    private int StartFromCachedPrefix(GenerationSequence sequence, int row, (int Row, int Length) prefix)
    {
        (int source, int length) = prefix;
        // A finished sequence kept in this row moves to an empty row above rather than being lost, when there is one.
        if (source != row && kept.Holds(row) && kept.EmptyRow(row + 1, cache.Rows) is int empty)
        {
            cache.MoveRow(row, empty);
            kept.Moved(row, empty);
        }
        kept.Forget(row);
        if (length == 0)
        {
            cache.Reset(row);
            return 0;
        }
        cache.CopyPrefix(source, row, length);
        sequence.CachedPromptTokens = length;
        return length;
    }

    /// <summary>One decode step: every active sequence's last token in one forward pass.</summary>
    private void Step()
    {
        for (int row = active.Count - 1; row >= 0; row--)
        {
            if (active[row].IsCancelled || stopping)
            {
                active[row].FinishCancelled();
                Release(row);
            }
        }
        if (active.Count == 0)
            return;

        bool[] done;
        using (NewDisposeScope())
        {
            var input = tensor(active.Select(s => (long)s.LastToken).ToArray(), [active.Count, 1], ScalarType.Int64);
            long[] positions = [.. cache.Lengths.Take(active.Count)];
            using var logits = Model.Forward(input, positions, cache, logitsAt: new int[active.Count]);
            for (int row = 0; row < active.Count; row++)
                cache.SetLength(row, positions[row] + 1);
            done = ChooseNext(logits, active);
        }
        // Highest rows first, so the row moved into a freed slot is always one still running.
        for (int row = done.Length - 1; row >= 0; row--)
        {
            if (done[row])
                Release(row);
        }
    }

    /// <summary>
    /// After a failure no single request owns (a batch step, a cache copy), every row's contents are unknown: the running
    /// requests and the one being prefilled end with the error, and the cache starts empty for the waiting ones.
    /// </summary>
    private void EndAll(Exception error)
    {
        foreach (GenerationSequence sequence in active)
            Retire(sequence, error);
        active.Clear();
        if (admitting is not null)
            Retire(admitting, error);
        admitting = null;
        cache.Reset();
        kept.Clear();
    }

    /// <summary>
    /// Gives each sequence its next token from its row of <paramref name="logits"/> (<c>[B, vocab]</c>, on the model's
    /// device) and says which finished. Plain greedy rows take one device-side argmax and copy back a token id each;
    /// only the rows that sample or process their logits copy those logits to the host, where their samplers run.
    /// A request whose own choice fails (say, its output constraint allows no token) ends with that error alone.
    /// </summary>
    private static bool[] ChooseNext(Tensor logits, IReadOnlyList<GenerationSequence> sequences)
    {
        using var scope = NewDisposeScope();
        int[] argmaxRows = [.. Enumerable.Range(0, sequences.Count).Where(row => sequences[row].ChoosesByArgmax)];
        int[] sampledRows = [.. Enumerable.Range(0, sequences.Count).Where(row => !sequences[row].ChoosesByArgmax)];
        long[] argmax = argmaxRows.Length == 0 ? [] : logits.argmax(-1).cpu().data<long>().ToArray();
        Tensor? sampled = sampledRows.Length == 0 ? null
            : logits.index_select(0, tensor(sampledRows.Select(r => (long)r).ToArray(), ScalarType.Int64, logits.device)).to(ScalarType.Float32, CPU);
        var done = new bool[sequences.Count];
        bool Choose(int row, Func<bool> accept)
        {
            try
            {
                return accept();
            }
            catch (Exception e) when (e is InvalidOperationException or ArgumentException)
            {
                sequences[row].Fail(e);
                return true;
            }
        }
        foreach (int row in argmaxRows)
            done[row] = Choose(row, () => sequences[row].AcceptArgmax((int)argmax[row]));
        for (int i = 0; i < sampledRows.Length; i++)
        {
            int row = sampledRows[i];
            Tensor rowLogits = sampled![i];
            done[row] = Choose(row, () => sequences[row].Accept(rowLogits));
        }
        return done;
    }

    /// <summary>Frees a row: the last active row moves into it, keeping active rows contiguous from row 0.</summary>
    private void Release(int row)
    {
        GenerationSequence done = active[row];
        int last = active.Count - 1;
        bool keptInPlace = Keep(row, done);
        if (row != last)
        {
            cache.MoveRow(last, row);
            active[row] = active[last];
        }
        active.RemoveAt(last);
        if (!keptInPlace)
            cache.Reset(last);
        // A prompt being prefilled sits in the row after the active ones: it follows them down.
        if (admitting is not null)
            cache.MoveRow(last + 1, last);
        done.Dispose();
    }

    /// <summary>
    /// Keeps a finished sequence's keys and values for a later prompt that starts the same way: in place when its row is
    /// the last one in use (returns true: the row must not be reset), else copied to a free row above the rows in use
    /// (an empty one, or the one kept longest), or not at all when every row is in use.
    /// </summary>
    private bool Keep(int row, GenerationSequence done)
    {
        long length = cache.Lengths[row];
        if (!Options.ReusePromptPrefixes || length == 0)
            return false;
        int[] tokens = [.. done.Tokens.Take((int)length)];
        if (row == active.Count - 1 && admitting is null)
        {
            kept.Hold(row, tokens);
            return true;
        }
        if (kept.RowToFill(active.Count + (admitting is null ? 0 : 1), cache.Rows) is int free)
        {
            cache.MoveRow(row, free);
            kept.Hold(free, tokens);
        }
        return false;
    }

    private static void Retire(GenerationSequence sequence, Exception error)
    {
        sequence.Fail(error);
        sequence.Dispose();
    }

    /// <summary>
    /// Stops the worker: running requests end as cancelled at the next step, waiting ones fail with
    /// <see cref="ObjectDisposedException"/>. Frees the cache, and the model if the generator owns it.
    /// </summary>
    public void Dispose()
    {
        lock (waiting)
        {
            if (stopping)
                return;
            stopping = true;
        }
        wake.Release();
        worker.Join();
        cache.Dispose();
        wake.Dispose();
        if (ownsModel)
            Model.Dispose();
    }
}
