namespace Dbrx.Extensions.AI.ConstrainedDecoding;

/// <summary>
/// A JSON Schema compiled to what constrained decoding needs: the shape of the values it allows. Nodes form a graph
/// (recursive schemas refer back through <see cref="RefNode"/>). <see cref="MinLength"/> is the length in bytes of the
/// shortest JSON text the node allows, used to close the output before the token budget runs out.
/// </summary>
internal abstract class SchemaNode
{
    /// <summary>Stands for "not known yet" (or unreachable) during the compiler's fixed-point iteration.</summary>
    public const int Unknown = int.MaxValue / 4;

    /// <summary>Bytes of the shortest value this node allows (filled in by the compiler).</summary>
    public int MinLength { get; set; } = Unknown;

    /// <summary>Clamps a sum of lengths, some of which may still be <see cref="Unknown"/>, so it cannot overflow.</summary>
    protected static int Saturate(long value) => (int)Math.Min(value, Unknown);

    /// <summary>The shortest length from the children's current estimates; the compiler iterates it to a fixed point.</summary>
    public abstract int ComputeMinLength();

    private byte[]? minText;
    private bool building;

    /// <summary>
    /// The shortest value itself (once lengths are final), or null while it is being built: recursive alternatives
    /// then fall back to a non-recursive one of the same length.
    /// </summary>
    public byte[]? MinText
    {
        get
        {
            if (minText is null && !building)
            {
                building = true;
                minText = BuildMinText();
                building = false;
            }
            return minText;
        }
    }

    /// <summary>Builds <see cref="MinText"/> from the children's.</summary>
    protected abstract byte[]? BuildMinText();

    /// <summary>The first of several nodes whose shortest value has this node's length.</summary>
    protected byte[]? Shortest(IEnumerable<SchemaNode> options) =>
        options.Where(o => o.MinLength == MinLength).Select(o => o.MinText).FirstOrDefault(t => t is not null);
}

/// <summary>Any JSON value: the free-form alternatives, one of which refers back to this node for nesting.</summary>
internal sealed class AnyNode : SchemaNode
{
    public List<SchemaNode> Alternatives { get; } = [];

    public override int ComputeMinLength() => Alternatives.Count == 0 ? 1 : Alternatives.Min(a => a.MinLength);

    protected override byte[]? BuildMinText() => Alternatives.Count == 0 ? "0"u8.ToArray() : Shortest(Alternatives);
}

/// <summary>One of several schemas (anyOf, oneOf, a type list, nullable).</summary>
internal sealed class AnyOfNode(IReadOnlyList<SchemaNode> options) : SchemaNode
{
    public IReadOnlyList<SchemaNode> Options { get; } = options;

    public override int ComputeMinLength() => Options.Min(o => o.MinLength);

    protected override byte[]? BuildMinText() => Shortest(Options);
}

/// <summary>A reference to a definition, resolved after compilation so schemas may be recursive.</summary>
internal sealed class RefNode(string reference) : SchemaNode
{
    public string Reference { get; } = reference;

    public SchemaNode? Target { get; set; }

    public override int ComputeMinLength() => Target!.MinLength;

    protected override byte[]? BuildMinText() => Target!.MinText;
}

/// <summary>Exact JSON texts (enum, const, true, false, null), as compact UTF-8.</summary>
internal sealed class LiteralNode(IReadOnlyList<byte[]> alternatives) : SchemaNode
{
    public IReadOnlyList<byte[]> Alternatives { get; } = alternatives;

    public override int ComputeMinLength() => Alternatives.Min(a => a.Length);

    protected override byte[]? BuildMinText() => Alternatives.First(a => a.Length == MinLength);
}

/// <summary>A string, optionally restricted to a format's pattern.</summary>
internal sealed class StringNode(BytePattern? pattern) : SchemaNode
{
    public BytePattern? Pattern { get; } = pattern;

    public override int ComputeMinLength() => Saturate(2L + (Pattern?.MinLength ?? 0));

    protected override byte[]? BuildMinText()
    {
        var text = new List<byte> { (byte)'"' };
        Pattern?.AppendShortestCompletion(Pattern.Start, text);
        text.Add((byte)'"');
        return [.. text];
    }
}

/// <summary>A number, or an integer (no fraction).</summary>
internal sealed class NumberNode(bool integer) : SchemaNode
{
    /// <summary>Digits before the point: 9 for integers (any value fits a 32-bit integer), 15 otherwise.</summary>
    public const int MaxIntegerDigits = 9, MaxNumberDigits = 15, MaxFractionDigits = 15;

    public bool Integer { get; } = integer;

    public override int ComputeMinLength() => 1;

    protected override byte[]? BuildMinText() => "0"u8.ToArray();
}

/// <summary>An array of items, with optional bounds on the count.</summary>
internal sealed class ArrayNode(SchemaNode items, int minItems, int? maxItems) : SchemaNode
{
    public SchemaNode Items { get; } = items;
    public int MinItems { get; } = minItems;
    public int? MaxItems { get; } = maxItems;

    public override int ComputeMinLength() => Saturate(2L + (long)MinItems * Items.MinLength + Math.Max(0, MinItems - 1));

    protected override byte[]? BuildMinText()
    {
        var text = new List<byte> { (byte)'[' };
        if (!AppendItems(MinItems, leadingComma: false, text))
            return null;
        text.Add((byte)']');
        return [.. text];
    }

    /// <summary>Appends <paramref name="count"/> shortest items, comma-separated; false while the item text is unknown.</summary>
    public bool AppendItems(int count, bool leadingComma, List<byte> output)
    {
        for (int i = 0; i < count; i++)
        {
            if (Items.MinText is not { } item)
                return false;
            if (i > 0 || leadingComma)
                output.Add((byte)',');
            output.AddRange(item);
        }
        return true;
    }
}

/// <summary>A declared property of an object node.</summary>
/// <param name="Name">The property name.</param>
/// <param name="KeyLiteral">The key as compact JSON, quotes included.</param>
/// <param name="Value">The value's schema.</param>
/// <param name="Required">Whether the property must appear.</param>
internal sealed record ObjectProperty(string Name, byte[] KeyLiteral, SchemaNode Value, bool Required)
{
    /// <summary>Bytes of <c>"key":value</c> at its shortest.</summary>
    public long MinLength => KeyLiteral.Length + 1L + Value.MinLength;
}

/// <summary>
/// An object. With declared properties they are written in declaration order (optional ones may be skipped, required
/// ones never), which makes "required" a guarantee; undeclared properties are not generated. Without declared
/// properties any keys are allowed, with values of <see cref="FreeValue"/>.
/// </summary>
internal sealed class ObjectNode(IReadOnlyList<ObjectProperty> properties, SchemaNode? freeValue) : SchemaNode
{
    public IReadOnlyList<ObjectProperty> Properties { get; } = properties;

    /// <summary>The value schema of a free-form object (no declared properties), else null.</summary>
    public SchemaNode? FreeValue { get; } = freeValue;

    public bool IsFreeForm => FreeValue is not null;

    public override int ComputeMinLength() => Saturate(1L + RestAfter(0, first: true));

    protected override byte[]? BuildMinText()
    {
        var text = new List<byte> { (byte)'{' };
        return AppendRest(0, first: true, text) ? [.. text] : null;
    }

    /// <summary>
    /// Appends the shortest text that finishes the object when the next property written would be number
    /// <paramref name="next"/>: the remaining required properties and the closing brace (see <see cref="RestAfter"/>).
    /// </summary>
    public bool AppendRest(int next, bool first, List<byte> output)
    {
        int count = 0;
        for (int i = next; i < Properties.Count; i++)
        {
            if (!Properties[i].Required)
                continue;
            if (!AppendProperty(i, comma: !(first && count == 0), output))
                return false;
            count++;
        }
        output.Add((byte)'}');
        return true;
    }

    /// <summary>Appends <c>,"key":value</c> (or without the comma) at its shortest.</summary>
    public bool AppendProperty(int index, bool comma, List<byte> output)
    {
        if (Properties[index].Value.MinText is not { } value)
            return false;
        if (comma)
            output.Add((byte)',');
        output.AddRange(Properties[index].KeyLiteral);
        output.Add((byte)':');
        output.AddRange(value);
        return true;
    }

    /// <summary>
    /// Bytes needed to finish the object when the next property written would be number <paramref name="next"/>:
    /// the remaining required properties (each after a comma unless <paramref name="first"/>) and the closing brace.
    /// </summary>
    public int RestAfter(int next, bool first)
    {
        long total = 1;
        int count = 0;
        for (int i = next; i < Properties.Count; i++)
        {
            if (!Properties[i].Required)
                continue;
            total += Properties[i].MinLength + (first && count == 0 ? 0 : 1);
            count++;
        }
        return Saturate(total);
    }

    /// <summary>Whether a required property remains at or after <paramref name="next"/>.</summary>
    public bool RequiredRemain(int next)
    {
        for (int i = next; i < Properties.Count; i++)
        {
            if (Properties[i].Required)
                return true;
        }
        return false;
    }

    /// <summary>The properties that may be written next: those from <paramref name="next"/> up to the first required one.</summary>
    public IEnumerable<int> Candidates(int next)
    {
        for (int i = next; i < Properties.Count; i++)
        {
            yield return i;
            if (Properties[i].Required)
                yield break;
        }
    }
}
