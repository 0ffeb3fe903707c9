namespace Dbrx.ConstrainedDecoding;

/// <summary>
/// The JSON documents a constraint accepts, as a <see cref="JsonGrammarBuilder"/> made them: compiled from a schema, or
/// composed of other grammars (one of several, an object of given properties, an array). Opaque: only the builder of
/// one compilation makes and combines them.
/// </summary>
public sealed class JsonGrammar
{
    internal JsonGrammar(GrammarNode node) => Node = node;

    internal GrammarNode Node { get; }
}
