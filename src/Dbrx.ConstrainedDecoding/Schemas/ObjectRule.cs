namespace Dbrx.ConstrainedDecoding;

/// <summary>
/// One schema's object keywords: its declared properties, patternProperties and additionalProperties. They stay
/// together because additionalProperties applies to the properties this schema does not declare, so the rules of
/// several schemas (allOf) hold side by side rather than merged.
/// </summary>
internal sealed class ObjectRule
{
    public List<(string Name, SchemaLocation Schema)> Properties { get; } = [];

    public List<(string Pattern, string Path, SchemaLocation Schema)> PatternProperties { get; } = [];

    /// <summary>The additionalProperties schema, or null when absent (or <c>true</c>).</summary>
    public SchemaLocation? Additional { get; set; }

    /// <summary><c>additionalProperties: false</c>.</summary>
    public bool AdditionalFalse { get; set; }
}
