using System.Text.Json;

namespace Dbrx.ConstrainedDecoding;

/// <summary>
/// Reads JSON Schema keywords (drafts 4 to 2020-12) into <see cref="SchemaInfo"/>, checking that each keyword's value
/// is valid and that its meaning can be enforced; everything else raises a <see cref="JsonSchemaException"/> naming
/// the keyword and its path. Resolves <c>$ref</c> within the document (JSON pointers, relative to the nearest
/// subschema that declares <c>$id</c> or <c>$schema</c> first, as Microsoft.Extensions.AI nests them, then to the
/// root). Keywords JSON Schema does not define are annotations and ignored, as are unknown formats.
/// </summary>
internal sealed partial class SchemaReader(JsonElement root)
{
    /// <summary>Keywords that only describe (never restrict) a value.</summary>
    private static readonly HashSet<string> Annotations = new(StringComparer.Ordinal)
    {
        "$schema", "$id", "id", "$anchor", "$dynamicAnchor", "$comment", "$defs", "definitions", "$vocabulary",
        "title", "description", "default", "examples", "example", "deprecated", "readOnly", "writeOnly",
        "contentEncoding", "contentMediaType", "contentSchema", "nullable", "format",
    };

    /// <summary>Keywords JSON Schema defines that restrict values in ways this engine does not enforce.</summary>
    private static readonly Dictionary<string, string> Unsupported = new(StringComparer.Ordinal)
    {
        ["contains"] = "array 'contains' is not enforced",
        ["minContains"] = "array 'contains' is not enforced",
        ["maxContains"] = "array 'contains' is not enforced",
        ["unevaluatedProperties"] = "unevaluated properties are not tracked",
        ["unevaluatedItems"] = "unevaluated items are not tracked",
        ["dependentSchemas"] = "schema dependencies are not enforced",
        ["$dynamicRef"] = "dynamic references are not resolved",
        ["$recursiveRef"] = "recursive references are not resolved",
    };

    private readonly Stack<string> reading = new();

    /// <summary>The document's root.</summary>
    public SchemaLocation Root => new(root, "#");

    /// <summary>Reads a schema and everything it pulls in through allOf and $ref.</summary>
    public SchemaInfo Read(SchemaLocation location)
    {
        if (reading.Contains(location.Path))
            throw new JsonSchemaException("$ref", location.Path, "refers back to itself through $ref or allOf without a value in between, so no value can satisfy it");
        reading.Push(location.Path);
        try
        {
            var info = new SchemaInfo(location.Path);
            switch (location.Element.ValueKind)
            {
                case JsonValueKind.True:
                    break;
                case JsonValueKind.False:
                    info.Unsatisfiable = true;
                    break;
                case JsonValueKind.Object:
                    ReadKeywords(location, info);
                    break;
                default:
                    throw new JsonSchemaException("schema", location.Path, $"a schema must be an object or a boolean, not {Describe(location.Element)}");
            }
            return info;
        }
        finally
        {
            reading.Pop();
        }
    }

    private static bool IsKnownKeyword(string name) => name is "type" or "enum" or "const" or "minLength" or "maxLength" or "pattern"
        or "minimum" or "maximum" or "exclusiveMinimum" or "exclusiveMaximum" or "multipleOf" or "properties" or "patternProperties"
        or "additionalProperties" or "required" or "propertyNames" or "minProperties" or "maxProperties" or "items" or "prefixItems"
        or "additionalItems" or "minItems" or "maxItems" or "uniqueItems" or "allOf" or "anyOf" or "oneOf" or "not" or "dependencies"
        or "dependentRequired" or "if" or "then" or "else" or "$ref" || Unsupported.ContainsKey(name);
}
