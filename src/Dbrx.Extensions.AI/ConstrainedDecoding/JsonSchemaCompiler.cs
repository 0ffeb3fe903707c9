using System.Text.Encodings.Web;
using System.Text.Json;

namespace Dbrx.Extensions.AI.ConstrainedDecoding;

/// <summary>
/// Compiles a JSON Schema (as <c>AIJsonUtilities</c> and Semantic Kernel produce them) into <see cref="SchemaNode"/>s.
/// Enforced: <c>type</c> (one or a list), <c>properties</c>, <c>required</c>, <c>additionalProperties</c> (for objects
/// without declared properties), <c>items</c>, <c>minItems</c>, <c>maxItems</c>, <c>enum</c>, <c>const</c>,
/// <c>anyOf</c>, <c>oneOf</c> (as anyOf), <c>nullable</c>, <c>$ref</c> to <c>#</c>, <c>#/$defs/…</c> and
/// <c>#/definitions/…</c>, <c>format</c> (see <see cref="BytePattern.Formats"/>) and simple <c>pattern</c>s. Any other
/// keyword is ignored (never an error): for example <c>minimum</c>, <c>maxLength</c>, <c>prefixItems</c>, and
/// undeclared properties of objects that declare some.
/// </summary>
internal static class JsonSchemaCompiler
{
    private static readonly JsonSerializerOptions Compact = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>Compiles a schema; <c>true</c> or <c>{}</c> means any JSON value.</summary>
    /// <exception cref="ArgumentException">The schema allows no value at all (<c>false</c>).</exception>
    public static SchemaNode Compile(JsonElement schema)
    {
        var context = new Context(schema);
        SchemaNode root = context.Compile(schema);
        context.Finish(root);
        return root;
    }

    /// <summary>Builds nodes directly (for the tool-call envelope), then computes their lengths.</summary>
    public static T Finish<T>(T root) where T : SchemaNode
    {
        var context = new Context(default);
        context.Finish(root);
        return root;
    }

    /// <summary>A value as compact UTF-8 JSON.</summary>
    public static byte[] Serialize(JsonElement value) => JsonSerializer.SerializeToUtf8Bytes(value, Compact);

    /// <summary>A string as a compact UTF-8 JSON literal, quotes included.</summary>
    public static byte[] Serialize(string value) => JsonSerializer.SerializeToUtf8Bytes(value, Compact);

    /// <summary>Any JSON value: free-form objects and arrays of any values, strings, numbers, true, false, null.</summary>
    public static AnyNode Any()
    {
        var any = new AnyNode();
        any.Alternatives.Add(new ObjectNode([], any));
        any.Alternatives.Add(new ArrayNode(any, 0, null));
        any.Alternatives.Add(new StringNode(null));
        any.Alternatives.Add(new NumberNode(integer: false));
        any.Alternatives.Add(new LiteralNode([.. new[] { "true", "false", "null" }.Select(System.Text.Encoding.UTF8.GetBytes)]));
        return any;
    }

    private sealed class Context(JsonElement root)
    {
        private readonly List<SchemaNode> nodes = [];
        private readonly HashSet<SchemaNode> known = [];
        private readonly List<RefNode> references = [];
        private readonly Dictionary<string, SchemaNode?> definitions = new(StringComparer.Ordinal);
        private AnyNode? any;

        private AnyNode SharedAny => any ??= Any();

        private void Register(SchemaNode node)
        {
            if (!known.Add(node))
                return;
            nodes.Add(node);
            switch (node)
            {
                case AnyNode a: a.Alternatives.ForEach(Register); break;
                case AnyOfNode o: foreach (var option in o.Options) Register(option); break;
                case ArrayNode a: Register(a.Items); break;
                case ObjectNode o:
                    foreach (var p in o.Properties) Register(p.Value);
                    if (o.FreeValue is { } free) Register(free);
                    break;
                case RefNode r when r.Target is not null: Register(r.Target); break;
            }
        }

        public SchemaNode Compile(JsonElement schema)
        {
            if (schema.ValueKind == JsonValueKind.True || schema.ValueKind != JsonValueKind.Object)
            {
                if (schema.ValueKind == JsonValueKind.False)
                    throw new ArgumentException("The JSON schema is 'false', which no value satisfies.");
                return SharedAny;
            }
            if (schema.TryGetProperty("$ref", out JsonElement reference) && reference.ValueKind == JsonValueKind.String)
            {
                var node = new RefNode(reference.GetString()!);
                references.Add(node);
                return node;
            }
            if (schema.TryGetProperty("const", out JsonElement constant))
                return new LiteralNode([Serialize(constant)]);
            if (schema.TryGetProperty("enum", out JsonElement values) && values.ValueKind == JsonValueKind.Array && values.GetArrayLength() > 0)
                return new LiteralNode([.. values.EnumerateArray().Select(Serialize)]);
            foreach (string keyword in new[] { "anyOf", "oneOf" })
            {
                if (schema.TryGetProperty(keyword, out JsonElement options) && options.ValueKind == JsonValueKind.Array && options.GetArrayLength() > 0)
                    return Nullable(schema, new AnyOfNode([.. options.EnumerateArray().Select(Compile)]));
            }
            if (schema.TryGetProperty("allOf", out JsonElement all) && all.ValueKind == JsonValueKind.Array && all.GetArrayLength() == 1)
                return Compile(all[0]);

            if (schema.TryGetProperty("type", out JsonElement type))
            {
                if (type.ValueKind == JsonValueKind.String)
                    return Nullable(schema, OfType(type.GetString()!, schema));
                if (type.ValueKind == JsonValueKind.Array && type.GetArrayLength() > 0)
                    return new AnyOfNode([.. type.EnumerateArray().Where(t => t.ValueKind == JsonValueKind.String).Select(t => OfType(t.GetString()!, schema))]);
            }
            // No type: infer it from the keywords present, else any value.
            if (schema.TryGetProperty("properties", out _))
                return Nullable(schema, OfType("object", schema));
            if (schema.TryGetProperty("items", out _))
                return Nullable(schema, OfType("array", schema));
            return SharedAny;
        }

        private SchemaNode Nullable(JsonElement schema, SchemaNode node) =>
            schema.TryGetProperty("nullable", out JsonElement nullable) && nullable.ValueKind == JsonValueKind.True
                ? new AnyOfNode([node, new LiteralNode(["null"u8.ToArray()])])
                : node;

        private SchemaNode OfType(string type, JsonElement schema) => type switch
        {
            "object" => CompileObject(schema),
            "array" => new ArrayNode(
                schema.TryGetProperty("items", out JsonElement items) && items.ValueKind is JsonValueKind.Object or JsonValueKind.True ? Compile(items) : SharedAny,
                Count(schema, "minItems") ?? 0,
                Count(schema, "maxItems")),
            "string" => new StringNode(StringPattern(schema)),
            "integer" => new NumberNode(integer: true),
            "number" => new NumberNode(integer: false),
            "boolean" => new LiteralNode(["true"u8.ToArray(), "false"u8.ToArray()]),
            "null" => new LiteralNode(["null"u8.ToArray()]),
            _ => SharedAny,
        };

        private ObjectNode CompileObject(JsonElement schema)
        {
            var required = new HashSet<string>(StringComparer.Ordinal);
            if (schema.TryGetProperty("required", out JsonElement names) && names.ValueKind == JsonValueKind.Array)
            {
                foreach (JsonElement name in names.EnumerateArray())
                {
                    if (name.ValueKind == JsonValueKind.String)
                        required.Add(name.GetString()!);
                }
            }
            var properties = new List<ObjectProperty>();
            if (schema.TryGetProperty("properties", out JsonElement declared) && declared.ValueKind == JsonValueKind.Object)
            {
                foreach (JsonProperty property in declared.EnumerateObject())
                    properties.Add(new ObjectProperty(property.Name, Serialize(property.Name), Compile(property.Value), required.Contains(property.Name)));
            }
            // A required name without a declaration still has to appear: it takes any value.
            foreach (string name in required.Where(n => properties.All(p => p.Name != n)))
                properties.Add(new ObjectProperty(name, Serialize(name), SharedAny, Required: true));
            if (properties.Count > 0)
                return new ObjectNode(properties, freeValue: null);
            SchemaNode free = schema.TryGetProperty("additionalProperties", out JsonElement additional) && additional.ValueKind == JsonValueKind.Object
                ? Compile(additional)
                : SharedAny;
            return new ObjectNode([], free);
        }

        private static BytePattern? StringPattern(JsonElement schema)
        {
            if (schema.TryGetProperty("format", out JsonElement format) && format.ValueKind == JsonValueKind.String
                && BytePattern.Formats.TryGetValue(format.GetString()!, out string? pattern))
                return BytePattern.TryParse(pattern);
            if (schema.TryGetProperty("pattern", out JsonElement regex) && regex.ValueKind == JsonValueKind.String)
                return BytePattern.TryParse(regex.GetString()!);
            return null;
        }

        private static int? Count(JsonElement schema, string keyword) =>
            schema.TryGetProperty(keyword, out JsonElement value) && value.ValueKind == JsonValueKind.Number && value.TryGetInt32(out int count) && count >= 0 ? count : null;

        /// <summary>Resolves references and computes every node's shortest length (a fixed point, since schemas may recurse).</summary>
        public void Finish(SchemaNode rootNode)
        {
            definitions["#"] = rootNode;
            // Resolving may compile definitions holding further references: the list grows while it is walked.
            for (int i = 0; i < references.Count; i++)
                references[i].Target = Resolve(references[i].Reference) ?? SharedAny;
            Register(rootNode);
            for (int round = 0; round < 100; round++)
            {
                bool changed = false;
                foreach (SchemaNode node in nodes)
                {
                    int length = Math.Min(node.ComputeMinLength(), SchemaNode.Unknown);
                    if (length < node.MinLength)
                    {
                        node.MinLength = length;
                        changed = true;
                    }
                }
                if (!changed)
                    return;
            }
        }

        private SchemaNode? Resolve(string reference)
        {
            if (definitions.TryGetValue(reference, out SchemaNode? known))
                return known;
            SchemaNode? resolved = null;
            foreach (string prefix in new[] { "#/$defs/", "#/definitions/" })
            {
                if (reference.StartsWith(prefix, StringComparison.Ordinal)
                    && root.ValueKind == JsonValueKind.Object
                    && root.TryGetProperty(prefix[2..^1], out JsonElement container)
                    && container.ValueKind == JsonValueKind.Object
                    && container.TryGetProperty(reference[prefix.Length..], out JsonElement target))
                    resolved = Compile(target);
            }
            definitions[reference] = resolved;
            return resolved;
        }
    }
}
