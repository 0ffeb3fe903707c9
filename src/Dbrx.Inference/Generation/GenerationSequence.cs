using System.Diagnostics;
using System.Threading.Channels;
using Dbrx.Inference.Tokenization;

namespace Dbrx.Inference.Generation;

/// <summary>
/// One request inside the generator: its prompt, sampler, streaming decoder and stop matcher, and the channel its
/// updates go out on. Only the worker thread calls its methods, except for the reader and <see cref="Cancel"/>.
/// </summary>
internal sealed class GenerationSequence : IDisposable
{
    private readonly Channel<GenerationUpdate> updates = Channel.CreateUnbounded<GenerationUpdate>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });
    private readonly CancellationTokenSource cancellation;
    private readonly TokenSampler sampler;
    private readonly StreamingTokenDecoder decoder;
    private readonly StopSequenceMatcher stops;
    private readonly HashSet<int> stopTokens;
    private readonly ITokenConstraint? constraint;
    private readonly Stopwatch clock = Stopwatch.StartNew();
    private readonly List<int> output = [];
    private TimeSpan? firstToken;

    public GenerationSequence(int[] prompt, DbrxGenerationOptions options, DbrxTokenizer tokenizer, CancellationToken cancellationToken)
    {
        Prompt = prompt;
        Options = options;
        cancellation = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        constraint = options.ConstraintFactory?.Invoke();
        sampler = new TokenSampler(options, options.Seed ?? Random.Shared.NextInt64(), prompt, constraint);
        decoder = tokenizer.CreateStreamingDecoder(skipSpecialTokens: true);
        stops = new StopSequenceMatcher(options.StopSequences);
        stopTokens = [.. options.EffectiveStopTokenIds];
    }

    public int[] Prompt { get; }

    public DbrxGenerationOptions Options { get; }

    /// <summary>The last generated token, the input of the next decode step.</summary>
    public int LastToken => output[^1];

    /// <summary>The prompt, then the tokens generated so far: what the sequence's cache row holds, in order.</summary>
    public IEnumerable<int> Tokens => Prompt.Concat(output);

    /// <summary>Prompt tokens whose keys and values were copied from another sequence's cache row instead of prefilled.</summary>
    public int CachedPromptTokens { get; set; }

    public bool IsCancelled => cancellation.IsCancellationRequested;

    public ChannelReader<GenerationUpdate> Updates => updates.Reader;

    /// <summary>Asks the worker to stop this request (the consumer left, or its token fired).</summary>
    public void Cancel()
    {
        try
        {
            cancellation.Cancel();
        }
        catch (ObjectDisposedException)
        {
            // Already finished and disposed.
        }
    }

    /// <summary>This request's sampling state: options, history, constraint and random stream.</summary>
    public TokenSampler Sampler => sampler;

    /// <summary>Tokens it may still generate, the next one included.</summary>
    public int RemainingTokens => Options.MaxNewTokens - output.Count;

    /// <summary>Takes the token chosen for this request (and its log-probability, when asked for) and streams it; returns true when the request is finished.</summary>
    public bool Accept(int token, TokenLogProbability? logProbability)
    {
        sampler.Record(token);
        return Emit(token, logProbability);
    }

    private bool Emit(int token, TokenLogProbability? logProbability)
    {
        IReadOnlyList<TokenLogProbability>? logProbabilities = logProbability is null ? null : [logProbability];
        output.Add(token);
        firstToken ??= clock.Elapsed;

        if (stopTokens.Contains(token))
            return Finish(GenerationFinishReason.EndOfTurn, [token], FlushText(), logProbabilities);
        string text = stops.Push(decoder.Append(token));
        if (stops.Stopped)
            return Finish(GenerationFinishReason.StopSequence, [token], text, logProbabilities);
        if (constraint is { IsComplete: true })
            return Finish(GenerationFinishReason.EndOfTurn, [token], text + FlushText(), logProbabilities);
        if (output.Count >= Options.MaxNewTokens)
            return Finish(GenerationFinishReason.Length, [token], text + FlushText(), logProbabilities);
        updates.Writer.TryWrite(new GenerationUpdate { Text = text, TokenIds = [token], LogProbabilities = logProbabilities });
        return false;
    }

    /// <summary>The text still held at the end: an unfinished character, then what the stop matcher held back.</summary>
    private string FlushText() => stops.Push(decoder.Flush()) + stops.Flush();

    /// <summary>Ends the request as cancelled.</summary>
    public void FinishCancelled() => Finish(GenerationFinishReason.Cancelled, [], "");

    /// <summary>Ends the request with an error the reader rethrows.</summary>
    public void Fail(Exception error) => updates.Writer.TryComplete(error);

    private bool Finish(GenerationFinishReason reason, int[] tokens, string text, IReadOnlyList<TokenLogProbability>? logProbabilities = null)
    {
        TimeSpan total = clock.Elapsed;
        int generated = output.Count;
        double? speed = generated > 1 && total > firstToken ? (generated - 1) / (total - firstToken!.Value).TotalSeconds : null;
        updates.Writer.TryWrite(new GenerationUpdate
        {
            Text = text,
            TokenIds = tokens,
            LogProbabilities = logProbabilities,
            FinishReason = reason,
            Usage = new GenerationUsage(Prompt.Length, generated) { CachedPromptTokens = CachedPromptTokens },
            Timings = new GenerationTimings(firstToken ?? total, total, speed),
        });
        updates.Writer.TryComplete();
        return true;
    }

    public void Dispose() => cancellation.Dispose();
}
