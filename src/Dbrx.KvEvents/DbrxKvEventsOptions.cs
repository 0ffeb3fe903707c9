namespace Dbrx.KvEvents;

/// <summary>Where and how a replica publishes its prefix-cache events (<see cref="DbrxKvEventPublisher"/>).</summary>
public sealed class DbrxKvEventsOptions
{
    /// <summary>The ZeroMQ endpoint the PUB socket binds, for example <c>tcp://*:5557</c> (llm-d's default port).</summary>
    public string Endpoint { get; set; } = "tcp://*:5557";

    /// <summary>
    /// The topic every message carries: <c>kv@&lt;host:port&gt;@&lt;model&gt;</c> (<see cref="DbrxKvEventWire.Topic"/>),
    /// the address routers reach this replica's API at and the model it serves. Required.
    /// </summary>
    public string? Topic { get; set; }

    /// <summary>The engine's data-parallel rank, sent with every batch. Default 0.</summary>
    public int DataParallelRank { get; set; }

    /// <summary>
    /// Batches waiting to be sent; beyond it new ones are dropped and counted (the engine never waits for the socket).
    /// A router that sees a gap in the sequence numbers knows it missed some. Default 10,000.
    /// </summary>
    public int MaxQueuedBatches { get; set; } = 10_000;

    /// <summary>Checks the options; the message names the option and its value.</summary>
    /// <exception cref="ArgumentException">An option is invalid.</exception>
    public void Validate()
    {
        if (string.IsNullOrWhiteSpace(Endpoint) || !(Endpoint.StartsWith("tcp://", StringComparison.Ordinal) || Endpoint.StartsWith("ipc://", StringComparison.Ordinal) || Endpoint.StartsWith("inproc://", StringComparison.Ordinal)))
            throw new ArgumentException($"{nameof(DbrxKvEventsOptions)}.{nameof(Endpoint)} must be a ZeroMQ endpoint such as tcp://*:5557, not '{Endpoint}'.", nameof(Endpoint));
        if (string.IsNullOrWhiteSpace(Topic))
            throw new ArgumentException($"{nameof(DbrxKvEventsOptions)}.{nameof(Topic)} is required: kv@<host:port>@<model>, the address this replica's API is reached at and its model.", nameof(Topic));
        if (DataParallelRank < 0)
            throw new ArgumentException($"{nameof(DataParallelRank)} must be 0 or more, not {DataParallelRank}.", nameof(DataParallelRank));
        if (MaxQueuedBatches < 1)
            throw new ArgumentException($"{nameof(MaxQueuedBatches)} must be 1 or more, not {MaxQueuedBatches}.", nameof(MaxQueuedBatches));
    }
}
