namespace Dbrx.ConstrainedDecoding;

/// <summary>One schema's array keywords: prefixItems (or a draft-4 items array) and the schema of the items after them.</summary>
internal sealed class ArrayRule
{
    public List<SchemaLocation> Prefix { get; } = [];

    /// <summary>The schema of the items after the prefix, or null when any item may follow (or none: <see cref="ItemsFalse"/>).</summary>
    public SchemaLocation? Items { get; set; }

    public bool ItemsFalse { get; set; }
}
