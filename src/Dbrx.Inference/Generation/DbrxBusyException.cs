namespace Dbrx.Inference.Generation;

/// <summary>The generator's queue is full; the request was not accepted and may be retried later.</summary>
public sealed class DbrxBusyException : InvalidOperationException
{
    /// <summary>Creates the exception.</summary>
    public DbrxBusyException(string message) : base(message) { }
}
