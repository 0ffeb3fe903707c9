using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using Dbrx.Inference.Generation;
using NetMQ;
using NetMQ.Sockets;

namespace Dbrx.KvEvents;

/// <summary>
/// Publishes prefix-cache events on a ZeroMQ PUB socket in llm-d's wire format (<see cref="DbrxKvEventWire"/>), one
/// message per batch, numbered from 0. <see cref="Publish"/> only queues: a thread of the publisher's own owns the
/// socket (ZeroMQ sockets belong to one thread) and sends, so the engine's step never waits on the network. A
/// subscriber that is slow or gone loses messages at the socket's high-water mark, as with vLLM; the sequence numbers
/// show the gap.
/// </summary>
public sealed class DbrxKvEventPublisher : IDisposable
{
    /// <summary>The meter of the publisher's counters: <c>dbrx.kv_events.published</c> and <c>dbrx.kv_events.dropped</c> (batches).</summary>
    public const string MeterName = "Dbrx.KvEvents";

    private readonly DbrxKvEventsOptions options;
    private readonly BlockingCollection<DbrxKvEventBatch> queue;
    private readonly Thread sender;
    private readonly Meter meter;
    private long published;
    private long dropped;

    /// <summary>Binds the socket (on the publisher's thread) and starts sending.</summary>
    /// <param name="options">The endpoint, topic and queue length; validated here.</param>
    /// <param name="meterFactory">Where the meter (<see cref="MeterName"/>) comes from; a meter of its own when null.</param>
    /// <exception cref="ArgumentException">An option is invalid.</exception>
    /// <exception cref="IOException">The endpoint cannot be bound (in use, or not an address of this machine); the message names it.</exception>
    public DbrxKvEventPublisher(DbrxKvEventsOptions options, IMeterFactory? meterFactory = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        this.options = options;
        queue = new BlockingCollection<DbrxKvEventBatch>(options.MaxQueuedBatches);
        meter = meterFactory?.Create(MeterName) ?? new Meter(MeterName);
        meter.CreateObservableCounter("dbrx.kv_events.published", () => Interlocked.Read(ref published), "{batch}", "KV-event batches sent.");
        meter.CreateObservableCounter("dbrx.kv_events.dropped", () => Interlocked.Read(ref dropped), "{batch}", "KV-event batches dropped because the send queue was full.");
        var bound = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        sender = new Thread(() => Send(bound)) { IsBackground = true, Name = "dbrx kv events" };
        sender.Start();
        try
        {
            bound.Task.GetAwaiter().GetResult();
        }
        catch (Exception e)
        {
            sender.Join();
            meter.Dispose();
            queue.Dispose();
            throw new IOException($"Cannot publish KV events on {options.Endpoint}: {e.Message}", e);
        }
    }

    /// <summary>Batches sent so far.</summary>
    public long Published => Interlocked.Read(ref published);

    /// <summary>Batches dropped because <see cref="DbrxKvEventsOptions.MaxQueuedBatches"/> were waiting.</summary>
    public long Dropped => Interlocked.Read(ref dropped);

    /// <summary>Queues one step's changes; false when the queue is full (the batch is dropped and counted) or the publisher is disposed.</summary>
    public bool Publish(DbrxKvCacheChangedEventArgs changes)
    {
        ArgumentNullException.ThrowIfNull(changes);
        try
        {
            if (queue.TryAdd(new DbrxKvEventBatch(changes.Timestamp, changes.Events, options.DataParallelRank)))
                return true;
        }
        catch (InvalidOperationException)
        {
            return false;   // completed: disposing
        }
        Interlocked.Increment(ref dropped);
        return false;
    }

    /// <summary>Sends what is queued, then closes the socket.</summary>
    public void Dispose()
    {
        if (queue.IsAddingCompleted)
            return;
        queue.CompleteAdding();
        sender.Join();
        queue.Dispose();
        meter.Dispose();
    }

    private void Send(TaskCompletionSource bound)
    {
        // No linger: closing never waits for a subscriber that stopped reading.
        using var socket = new PublisherSocket();
        socket.Options.Linger = TimeSpan.Zero;
        try
        {
            socket.Bind(options.Endpoint);
        }
        catch (Exception e)
        {
            bound.SetException(e);
            return;
        }
        bound.SetResult();
        long sequence = 0;
        foreach (DbrxKvEventBatch batch in queue.GetConsumingEnumerable())
        {
            socket.SendMoreFrame(options.Topic!)
                .SendMoreFrame(DbrxKvEventWire.EncodeSequence(sequence++))
                .SendFrame(DbrxKvEventWire.Encode(batch));
            Interlocked.Increment(ref published);
        }
    }
}
