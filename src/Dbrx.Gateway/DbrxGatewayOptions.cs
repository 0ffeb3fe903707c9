namespace Dbrx.Gateway;

/// <summary>
/// The gateway's configuration: the replicas, how a replica is chosen, what is checked at the gateway and how long a
/// replica may stay silent. <see cref="Validate"/> runs when the gateway is added, so a wrong value fails at start
/// naming the option.
/// </summary>
public sealed class DbrxGatewayOptions
{
    /// <summary>The base URLs of the <c>dbrx serve</c> replicas (<c>http://host:port</c>). At least one.</summary>
    public IList<string> Replicas { get; set; } = [];

    /// <summary>How a replica is chosen for a request. Default <see cref="DbrxGatewayPolicy.PrefixAware"/>.</summary>
    public DbrxGatewayPolicy Policy { get; set; } = DbrxGatewayPolicy.PrefixAware;

    /// <summary>
    /// The served model's folder: its template and tokenizer render a request to the token ids the replicas will
    /// prefill, for <see cref="DbrxGatewayPolicy.PrefixAware"/> (no weights are loaded). Required for that policy.
    /// </summary>
    public string? ModelPath { get; set; }

    /// <summary>
    /// The replicas' system prompt for conversations without one (<c>dbrx serve --system-prompt</c>): null, their
    /// default (dbrx-instruct's); "" for none. The gateway renders prompts with it, so it must be the replicas'.
    /// </summary>
    public string? SystemPrompt { get; set; }

    /// <summary>Tokens per prefix-cache block: the replicas' <c>PrefixBlockTokens</c> (default 32). Block hashes only match when both agree.</summary>
    public int PrefixBlockTokens { get; set; } = 32;

    /// <summary>
    /// Each replica's KV-cache event endpoint (<c>tcp://host:5557</c>), in the order of <see cref="Replicas"/>: the
    /// precise view of what each holds. Empty (the default): the gateway's own routing history stands in for it.
    /// </summary>
    public IList<string> KvEventEndpoints { get; set; } = [];

    /// <summary>Block hashes remembered per replica (routing history or KV events), least recently used dropped first. Default 65536.</summary>
    public int MaxBlocksPerReplica { get; set; } = 65_536;

    /// <summary>
    /// The bounded-load factor c: no replica is given a request that would take it above c times the average number of
    /// requests in flight (rounded up), so one hot prefix cannot pile every request onto one replica. Default 1.25.
    /// </summary>
    public double LoadFactor { get; set; } = 1.25;

    /// <summary>A replica whose scraped queue (<c>dbrx_engine_waiting_requests</c>) has reached this is not picked while another has room. Default 64.</summary>
    public int MaxReplicaWaitingRequests { get; set; } = 64;

    /// <summary>How often each replica's <c>/metrics</c> is scraped for its queue and KV-cache usage. Default 1 s.</summary>
    public TimeSpan MetricsInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>How often each replica's <c>/health/ready</c> is probed. Default 2 s.</summary>
    public TimeSpan HealthCheckInterval { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>
    /// How long a replica may send nothing before the request is given up (YARP's activity timeout, 100 s by default
    /// there). It covers the wait for the first token, so size it for the longest prefill behind a full queue. Default 10 min.
    /// </summary>
    public TimeSpan ActivityTimeout { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>Other replicas a request is sent to when one fails before anything of its response was sent. Default 2.</summary>
    public int MaxRetries { get; set; } = 2;

    /// <summary>The largest request body the gateway reads (it reads bodies whole to route them); larger ones get 413. Default 8 MiB.</summary>
    public long MaxRequestBodyBytes { get; set; } = 8 * 1024 * 1024;

    /// <summary>
    /// The keys a client must send (<c>Authorization: Bearer</c>), checked at the gateway. Empty (the default): the
    /// gateway checks nothing and passes the client's header through to the replicas, which check it themselves.
    /// </summary>
    public IList<string> ApiKeys { get; set; } = [];

    /// <summary>
    /// The key the gateway sends to the replicas in place of the client's, when <see cref="ApiKeys"/> are checked at
    /// the gateway and the replicas require one of their own. Null: the client's header goes through unchanged.
    /// </summary>
    public string? ReplicaApiKey { get; set; }

    /// <summary>Checks every option, naming the first that is wrong.</summary>
    /// <exception cref="ArgumentException">An option is out of range or inconsistent with another.</exception>
    public void Validate()
    {
        if (Replicas.Count == 0)
            throw new ArgumentException("DbrxGatewayOptions.Replicas must name at least one replica URL.");
        foreach (string replica in Replicas)
        {
            if (!Uri.TryCreate(replica, UriKind.Absolute, out Uri? uri) || uri.Scheme is not ("http" or "https"))
                throw new ArgumentException($"DbrxGatewayOptions.Replicas: '{replica}' is not an http:// or https:// URL.");
        }
        if (Replicas.Distinct(StringComparer.OrdinalIgnoreCase).Count() != Replicas.Count)
            throw new ArgumentException("DbrxGatewayOptions.Replicas names a replica twice.");
        if (Policy == DbrxGatewayPolicy.PrefixAware && string.IsNullOrWhiteSpace(ModelPath))
            throw new ArgumentException("DbrxGatewayOptions.ModelPath is required by the PrefixAware policy: the model's template and tokenizer render requests to the replicas' token ids.");
        if (KvEventEndpoints.Count != 0 && KvEventEndpoints.Count != Replicas.Count)
            throw new ArgumentException($"DbrxGatewayOptions.KvEventEndpoints must name one endpoint per replica ({Replicas.Count}), not {KvEventEndpoints.Count}.");
        foreach (string endpoint in KvEventEndpoints)
        {
            if (!endpoint.StartsWith("tcp://", StringComparison.Ordinal))
                throw new ArgumentException($"DbrxGatewayOptions.KvEventEndpoints: '{endpoint}' is not a tcp://host:port endpoint.");
        }
        Require(PrefixBlockTokens is >= 1 and <= 4096, $"PrefixBlockTokens must be between 1 and 4096, not {PrefixBlockTokens}.");
        Require(MaxBlocksPerReplica is >= 1 and <= 16_777_216, $"MaxBlocksPerReplica must be between 1 and 16777216, not {MaxBlocksPerReplica}.");
        Require(LoadFactor is >= 1 and <= 100, $"LoadFactor must be between 1 and 100, not {LoadFactor}.");
        Require(MaxReplicaWaitingRequests >= 1, $"MaxReplicaWaitingRequests must be at least 1, not {MaxReplicaWaitingRequests}.");
        Require(MetricsInterval >= TimeSpan.FromMilliseconds(100), $"MetricsInterval must be at least 100 ms, not {MetricsInterval}.");
        Require(HealthCheckInterval >= TimeSpan.FromMilliseconds(100), $"HealthCheckInterval must be at least 100 ms, not {HealthCheckInterval}.");
        Require(ActivityTimeout >= TimeSpan.FromSeconds(1), $"ActivityTimeout must be at least 1 s, not {ActivityTimeout}.");
        Require(MaxRetries is >= 0 and <= 16, $"MaxRetries must be between 0 and 16, not {MaxRetries}.");
        Require(MaxRequestBodyBytes is >= 1024 and <= 1024L * 1024 * 1024, $"MaxRequestBodyBytes must be between 1 KiB and 1 GiB, not {MaxRequestBodyBytes}.");
        Require(ReplicaApiKey is null || ApiKeys.Count > 0, "ReplicaApiKey replaces the client's key, so it needs ApiKeys checked at the gateway.");
    }

    private static void Require(bool condition, string message)
    {
        if (!condition)
            throw new ArgumentException("DbrxGatewayOptions." + message);
    }
}
