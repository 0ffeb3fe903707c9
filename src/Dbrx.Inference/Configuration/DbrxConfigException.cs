namespace Dbrx.Inference.Configuration;

/// <summary>A DBRX configuration that cannot be used: malformed JSON, a wrong type, or values the model cannot run with.</summary>
/// <remarks>The message names the file (when there is one) and the offending key and value.</remarks>
public sealed class DbrxConfigException : Exception
{
    /// <summary>Creates the exception with a message that names the key and value at fault.</summary>
    public DbrxConfigException(string message, Exception? inner = null) : base(message, inner) { }
}
