namespace Dbrx.Extensions.AI;

/// <summary>
/// The model's queue is full (<see cref="DbrxChatClientOptions.MaxQueuedRequests"/> requests wait already): the request
/// was not started and may be retried later. A server answers it with 429.
/// </summary>
public sealed class DbrxChatBusyException : InvalidOperationException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="message">What happened.</param>
    /// <param name="innerException">The engine's own exception.</param>
    public DbrxChatBusyException(string message, Exception? innerException = null)
        : base(message, innerException)
    {
    }
}
