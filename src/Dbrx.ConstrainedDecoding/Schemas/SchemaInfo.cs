using System.Text.Json;

namespace Dbrx.ConstrainedDecoding;

/// <summary>
/// Everything a schema asserts, merged over allOf and $ref (each keyword intersected: the larger minimum, both
/// patterns, ...). anyOf and oneOf stay as <see cref="Groups"/> until the compiler expands them.
/// </summary>
internal sealed class SchemaInfo
{
    public SchemaInfo(string path) => Path = path;

    /// <summary>Where the schema is (the first one merged), for messages.</summary>
    public string Path { get; }

    /// <summary>No value satisfies the schema.</summary>
    public bool Unsatisfiable { get; set; }

    public JsonTypes Types { get; set; } = JsonTypes.All;

    /// <summary>enum and const: the allowed values, or null when unrestricted.</summary>
    public List<JsonElement>? Values { get; set; }

    /// <summary>Values <c>not</c> rules out.</summary>
    public List<JsonElement> ExcludedValues { get; } = [];

    /// <summary>Patterns, with whether <c>not</c> turned them around.</summary>
    public List<(string Pattern, string Path, bool Negated)> Patterns { get; } = [];

    public List<(string Format, string Path)> Formats { get; } = [];

    public int MinLength { get; set; }

    public int? MaxLength { get; set; }

    public DecimalNumber? Minimum { get; set; }

    public bool MinimumExclusive { get; set; }

    public DecimalNumber? Maximum { get; set; }

    public bool MaximumExclusive { get; set; }

    public List<(DecimalNumber Value, string Path)> MultipleOf { get; } = [];

    public List<ObjectRule> ObjectRules { get; } = [];

    public List<string> Required { get; } = [];

    /// <summary>Properties that must not appear (from <c>not</c> and exclusive oneOf).</summary>
    public HashSet<string> Forbidden { get; } = new(StringComparer.Ordinal);

    public List<SchemaLocation> PropertyNames { get; } = [];

    public int MinProperties { get; set; }

    public int? MaxProperties { get; set; }

    public List<ArrayRule> ArrayRules { get; } = [];

    public int MinItems { get; set; }

    public int? MaxItems { get; set; }

    /// <summary>Where a uniqueItems that matters was set, or null.</summary>
    public string? UniqueItemsPath { get; set; }

    public List<SchemaGroup> Groups { get; } = [];

    /// <summary>Adds everything <paramref name="other"/> asserts (both must hold).</summary>
    public void Merge(SchemaInfo other)
    {
        Unsatisfiable |= other.Unsatisfiable;
        Types &= other.Types;
        if (other.Values is { } values)
            Values = Values is null ? [.. values] : [.. Values.Where(v => values.Any(w => JsonValues.Equal(v, w)))];
        ExcludedValues.AddRange(other.ExcludedValues);
        Patterns.AddRange(other.Patterns);
        Formats.AddRange(other.Formats);
        MinLength = Math.Max(MinLength, other.MinLength);
        MaxLength = Min(MaxLength, other.MaxLength);
        if (other.Minimum is { } minimum)
            RaiseMinimum(minimum, other.MinimumExclusive);
        if (other.Maximum is { } maximum)
            LowerMaximum(maximum, other.MaximumExclusive);
        MultipleOf.AddRange(other.MultipleOf);
        ObjectRules.AddRange(other.ObjectRules);
        foreach (string name in other.Required)
        {
            if (!Required.Contains(name))
                Required.Add(name);
        }
        Forbidden.UnionWith(other.Forbidden);
        PropertyNames.AddRange(other.PropertyNames);
        MinProperties = Math.Max(MinProperties, other.MinProperties);
        MaxProperties = Min(MaxProperties, other.MaxProperties);
        ArrayRules.AddRange(other.ArrayRules);
        MinItems = Math.Max(MinItems, other.MinItems);
        MaxItems = Min(MaxItems, other.MaxItems);
        UniqueItemsPath ??= other.UniqueItemsPath;
        Groups.AddRange(other.Groups);
    }

    public void RaiseMinimum(DecimalNumber value, bool exclusive)
    {
        int c = Minimum is null ? 1 : value.CompareTo(Minimum);
        if (c > 0 || c == 0 && exclusive)
        {
            Minimum = value;
            MinimumExclusive = exclusive;
        }
    }

    public void LowerMaximum(DecimalNumber value, bool exclusive)
    {
        int c = Maximum is null ? -1 : value.CompareTo(Maximum);
        if (c < 0 || c == 0 && exclusive)
        {
            Maximum = value;
            MaximumExclusive = exclusive;
        }
    }

    /// <summary>A copy without its groups (so that one alternative at a time can be merged in).</summary>
    public SchemaInfo WithoutGroups()
    {
        var copy = new SchemaInfo(Path);
        copy.Merge(this);
        copy.Groups.Clear();
        return copy;
    }

    private static int? Min(int? a, int? b) => a is null ? b : b is null ? a : Math.Min(a.Value, b.Value);
}
