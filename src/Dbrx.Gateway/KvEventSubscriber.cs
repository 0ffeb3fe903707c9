using Dbrx.KvEvents;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using NetMQ;
using NetMQ.Sockets;

namespace Dbrx.Gateway;

/// <summary>
/// Subscribes to each replica's KV-cache events (llm-d's wire format: a ZeroMQ PUB socket sending three frames, the
/// topic <c>kv@host:port@model</c>, an 8-byte big-endian sequence number and a msgpack batch, read by
/// <see cref="DbrxKvEventWire"/>, the format's one reader and writer) and hands them to a sink. One SUB socket per replica, all on one poller thread. A gap
/// in a replica's sequence numbers means events were lost: what it holds is forgotten rather than guessed. A message
/// that does not decode is logged and skipped. Connects when the host starts; ZeroMQ reconnects by itself to a replica
/// that restarts.
/// </summary>
internal sealed class KvEventSubscriber : IHostedService, IDisposable
{
    /// <summary>The largest event message accepted (ZeroMQ drops larger ones before they are read).</summary>
    private const long MaxMessageBytes = 16 * 1024 * 1024;

    private readonly NetMQPoller poller = [];
    private readonly List<SubscriberSocket> sockets = [];
    private readonly Dictionary<SubscriberSocket, (string Replica, long? LastSequence)> sources = [];
    private readonly IReadOnlyList<(string Replica, string Endpoint)> endpoints;
    private readonly IKvEventSink sink;
    private readonly Action<string>? forget;
    private readonly ILogger logger;

    /// <param name="endpoints">Each replica (its destination id) and its PUB endpoint, <c>tcp://host:port</c>.</param>
    /// <param name="sink">What receives the events.</param>
    /// <param name="forget">Called with a replica whose events were lost (a sequence gap).</param>
    /// <param name="logger">Where undecodable messages and gaps are reported.</param>
    public KvEventSubscriber(IEnumerable<(string Replica, string Endpoint)> endpoints, IKvEventSink sink, Action<string>? forget, ILogger logger)
    {
        this.endpoints = [.. endpoints];
        this.sink = sink;
        this.forget = forget;
        this.logger = logger;
    }

    public Task StartAsync(CancellationToken cancellationToken)
    {
        foreach (var (replica, endpoint) in endpoints)
        {
            var socket = new SubscriberSocket();
            socket.Options.MaxMsgSize = MaxMessageBytes;
            socket.Connect(endpoint);
            socket.Subscribe("kv@");
            socket.ReceiveReady += OnReceiveReady;
            sockets.Add(socket);
            sources[socket] = (replica, null);
            poller.Add(socket);
        }
        poller.RunAsync("dbrx-gateway-kv-events");
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken)
    {
        Dispose();
        return Task.CompletedTask;
    }

    private void OnReceiveReady(object? sender, NetMQSocketEventArgs e)
    {
        var socket = (SubscriberSocket)e.Socket;
        var message = new NetMQMessage();
        while (socket.TryReceiveMultipartMessage(TimeSpan.Zero, ref message, expectedFrameCount: 3))
            Receive(socket, message);
    }

    private void Receive(SubscriberSocket socket, NetMQMessage message)
    {
        var (replica, last) = sources[socket];
        if (message.FrameCount != 3 || message[1].BufferSize != 8)
        {
            logger.LogWarning("A KV event message from {Replica} has {Frames} frames, not topic, 8-byte sequence and payload; skipped.", replica, message.FrameCount);
            return;
        }
        long sequence = DbrxKvEventWire.DecodeSequence(message[1].Buffer.AsSpan(0, 8));
        if (last is { } previous && sequence != previous + 1)
        {
            logger.LogWarning("KV events from {Replica} jumped from {Previous} to {Sequence}: what it holds is forgotten until new events arrive.", replica, previous, sequence);
            forget?.Invoke(replica);
        }
        sources[socket] = (replica, sequence);
        try
        {
            sink.Apply(replica, DbrxKvEventWire.Decode(message[2].Buffer.AsMemory(0, message[2].MessageSize)).Events);
        }
        catch (FormatException error)
        {
            logger.LogWarning(error, "A KV event message from {Replica} does not decode; skipped.", replica);
        }
    }

    public void Dispose()
    {
        if (poller.IsRunning)
            poller.Stop();
        poller.Dispose();
        // Every socket is closed before NetMQ's own cleanup, or the process can crash at exit.
        foreach (SubscriberSocket socket in sockets)
            socket.Dispose();
        sockets.Clear();
    }
}
