namespace Dbrx.ConstrainedDecoding;

/// <summary>A property written in declaration order.</summary>
/// <param name="Name">The property name.</param>
/// <param name="Key">The key as compact JSON, quotes included.</param>
/// <param name="Value">The value's schema.</param>
/// <param name="Required">Whether the property must appear.</param>
internal sealed record ObjectProperty(string Name, byte[] Key, GrammarNode Value, bool Required)
{
    /// <summary>Bytes of <c>"key":value</c> at its shortest.</summary>
    public int MinBytes => (int)Math.Min(Key.Length + 1L + Value.MinBytes, GrammarNode.Never);
}
