namespace Dbrx.Server;

/// <summary>
/// Options of the OpenAI-compatible endpoints (<c>services.AddDbrxOpenAI(...)</c>). Bound from the configuration
/// section <c>"DbrxServer"</c> by these names. The model and how it is served (batch size, queue length, context)
/// are the chat client's options (<c>DbrxChatClientOptions</c>).
/// </summary>
public sealed class DbrxServerOptions
{
    /// <summary>The configuration section the options bind from by default.</summary>
    public const string SectionName = "DbrxServer";

    /// <summary>
    /// Keys a client may send as <c>Authorization: Bearer KEY</c> to use <c>/v1</c>; compared in constant time. Empty
    /// means no key is needed (the server warns at start-up when it listens beyond loopback). Health and metrics
    /// endpoints never need one.
    /// </summary>
    public IList<string> ApiKeys { get; set; } = [];

    /// <summary>Largest request body accepted, in bytes; a larger one gets 413. Default 8 MiB (a long prompt is a few hundred KiB).</summary>
    public long MaxRequestBodyBytes { get; set; } = 8 * 1024 * 1024;

    /// <summary>Most messages one request may carry; more is a 400 naming <c>messages</c>. Default 2,048.</summary>
    public int MaxMessages { get; set; } = 2048;

    /// <summary>Most tools one request may offer; more is a 400 naming <c>tools</c>. Default 128 (OpenAI's own limit).</summary>
    public int MaxTools { get; set; } = 128;

    /// <summary>Seconds a client is told to wait (<c>Retry-After</c>) when the queue is full and it gets 429.</summary>
    public int RetryAfterSeconds { get; set; } = 1;

    /// <summary>Most choices (<c>n</c>) a request may ask for; each takes a batch row. Keep it within the chat client's own limit (<c>DbrxChatClientOptions.MaxChoices</c>, 8 by default). Default 8.</summary>
    public int MaxChoices { get; set; } = 8;

    /// <summary>Where <c>/v1/responses</c> keeps stored responses, and how many (configuration key <c>DbrxServer:ResponseStore</c>).</summary>
    public DbrxResponseStoreOptions ResponseStore { get; set; } = new();

    /// <summary>Throws <see cref="ArgumentException"/> naming the first option that cannot work.</summary>
    public void Validate()
    {
        if (ApiKeys is null || ApiKeys.Any(string.IsNullOrWhiteSpace))
            throw new ArgumentException($"DbrxServerOptions.ApiKeys must not contain empty keys (configuration key {SectionName}:ApiKeys).");
        if (MaxRequestBodyBytes < 1024)
            throw new ArgumentException($"DbrxServerOptions.MaxRequestBodyBytes must be at least 1024, not {MaxRequestBodyBytes}.");
        if (MaxMessages < 1)
            throw new ArgumentException($"DbrxServerOptions.MaxMessages must be at least 1, not {MaxMessages}.");
        if (MaxTools < 0)
            throw new ArgumentException($"DbrxServerOptions.MaxTools must be 0 or more, not {MaxTools}.");
        if (RetryAfterSeconds < 1)
            throw new ArgumentException($"DbrxServerOptions.RetryAfterSeconds must be at least 1, not {RetryAfterSeconds}.");
        if (MaxChoices < 1)
            throw new ArgumentException($"DbrxServerOptions.MaxChoices must be at least 1, not {MaxChoices}.");
        if (ResponseStore is null)
            throw new ArgumentException("DbrxServerOptions.ResponseStore must not be null.");
        ResponseStore.Validate();
    }
}
