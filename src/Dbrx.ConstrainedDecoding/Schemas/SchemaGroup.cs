namespace Dbrx.ConstrainedDecoding;

/// <summary>Alternatives (anyOf, oneOf, or ones a keyword such as <c>not</c> or <c>dependencies</c> implies).</summary>
/// <param name="Alternatives">The alternatives, read.</param>
/// <param name="Exclusive">oneOf: exactly one must hold.</param>
/// <param name="Keyword">The keyword, for messages.</param>
/// <param name="Path">Where it is.</param>
internal sealed record SchemaGroup(List<SchemaInfo> Alternatives, bool Exclusive, string Keyword, string Path);
