using System.Collections.Concurrent;
using System.Globalization;
using System.Reflection;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization.Metadata;
using Microsoft.Extensions.AI;

namespace Dbrx.Extensions.AI.ConstrainedDecoding;

/// <summary>
/// Narrows a schema where it is looser than the .NET type it was made from, so that every value the constraint lets
/// through binds: integer widths (a <c>byte</c> is <c>"type":"integer"</c> in the schema), <c>decimal</c>,
/// <c>Half</c>, <c>float</c> and <c>double</c> ranges (no overflow to infinity), <c>char</c> (one UTF-16 unit), <c>TimeSpan</c> (bounded days, real hours), <c>TimeOnly</c>
/// (no offset), <c>byte[]</c> (base64), and dictionary keys of integer, enum and Guid types. Tool schemas are
/// narrowed from <see cref="AIFunction.UnderlyingMethod"/>'s parameter types; response schemas from the type whose
/// name <c>GetResponseAsync&lt;T&gt;</c> gave the schema (found among the loaded types and checked against the
/// schema's properties). The result is still a JSON schema (extra keywords only) and is cached.
/// </summary>
internal static class ClrSchemaTightener
{
    private static readonly ConcurrentDictionary<(object Source, string Schema), JsonElement> Cache = new();
    private static readonly JsonSerializerOptions Options = AIJsonUtilities.DefaultOptions;
    private static Dictionary<string, List<Type>>? typesByName;
    private static int indexedAssemblies;

    /// <summary>A tool's parameter schema, narrowed by its method's parameter types when it has one.</summary>
    public static JsonElement ForTool(AIFunctionDeclaration tool) =>
        tool is AIFunction { UnderlyingMethod: { } method }
            ? Cache.GetOrAdd((method, tool.JsonSchema.GetRawText()), key => TightenParameters(tool.JsonSchema, (MethodInfo)key.Source))
            : tool.JsonSchema;

    /// <summary>A response schema, narrowed by the type its name identifies (as GetResponseAsync&lt;T&gt; names it), if one matches.</summary>
    public static JsonElement ForResponse(JsonElement schema, string? schemaName) =>
        schemaName is null ? schema : Cache.GetOrAdd((schemaName, schema.GetRawText()), key => TightenResponse(schema, (string)key.Source));

    private static JsonElement TightenParameters(JsonElement schema, MethodInfo method)
    {
        if (JsonNode.Parse(schema.GetRawText()) is not JsonObject root || root["properties"] is not JsonObject properties)
            return schema;
        var visited = new HashSet<(JsonNode, Type)>();
        foreach (ParameterInfo parameter in method.GetParameters())
        {
            if (parameter.Name is { } name && properties[name] is JsonObject property)
                Tighten(property, parameter.ParameterType, root, visited);
        }
        return ToElement(root);
    }

    private static JsonElement TightenResponse(JsonElement schema, string schemaName)
    {
        if (JsonNode.Parse(schema.GetRawText()) is not JsonObject root)
            return schema;
        bool changed = false;
        foreach (Type type in Candidates(schemaName))
        {
            // GetResponseAsync<T> wraps what is not an object in {"data": ...}.
            JsonObject target = root;
            if (!IsObject(type) && root["properties"] is JsonObject { Count: 1 } wrapper && wrapper["data"] is JsonObject data)
                target = data;
            if (!Matches(target, type))
                continue;
            Tighten(target, type, root, []);
            changed = true;
        }
        return changed ? ToElement(root) : schema;
    }

    private static JsonElement ToElement(JsonNode node) => JsonDocument.Parse(node.ToJsonString()).RootElement.Clone();

    private static bool IsObject(Type type) => Options.GetTypeInfo(Underlying(type)).Kind == JsonTypeInfoKind.Object;

    /// <summary>Whether the schema describes the type: an object's property names are the type's JSON properties.</summary>
    private static bool Matches(JsonObject schema, Type type)
    {
        JsonTypeInfo info = Options.GetTypeInfo(Underlying(type));
        if (info.Kind != JsonTypeInfoKind.Object)
            return schema["properties"] is null;
        if (schema["properties"] is not JsonObject properties)
            return info.Properties.Count == 0;
        var names = info.Properties.Select(p => p.Name).ToHashSet(StringComparer.Ordinal);
        return names.SetEquals(properties.Select(p => p.Key));
    }

    /// <summary>Loaded types whose name (with what MEAI replaces in schema names replaced) is the schema's name; arrays too.</summary>
    private static List<Type> Candidates(string schemaName)
    {
        Dictionary<string, List<Type>> index = TypesByName();
        var result = new List<Type>(index.GetValueOrDefault(schemaName) ?? []);
        if (schemaName.EndsWith("__", StringComparison.Ordinal) && index.GetValueOrDefault(schemaName[..^2]) is { } elements)
            result.AddRange(elements.Select(e => e.MakeArrayType()));
        return result;
    }

    private static readonly Lock IndexLock = new();

    private static Dictionary<string, List<Type>> TypesByName()
    {
        lock (IndexLock)
            return BuildIndex();
    }

    private static Dictionary<string, List<Type>> BuildIndex()
    {
        Assembly[] assemblies = AppDomain.CurrentDomain.GetAssemblies();
        if (typesByName is { } known && indexedAssemblies == assemblies.Length)
            return known;
        var index = new Dictionary<string, List<Type>>(StringComparer.Ordinal);
        foreach (Assembly assembly in assemblies.Where(a => !a.IsDynamic))
        {
            Type?[] types;
            try
            {
                types = assembly.GetTypes();
            }
            catch (ReflectionTypeLoadException e)
            {
                types = e.Types;
            }
            foreach (Type? type in types)
            {
                if (type is null || type.IsGenericTypeDefinition && type.IsInterface)
                    continue;
                string name = SchemaName(type.Name);
                if (!index.TryGetValue(name, out List<Type>? list))
                    index[name] = list = [];
                list.Add(type);
            }
        }
        typesByName = index;
        indexedAssemblies = assemblies.Length;
        return index;
    }

    /// <summary>A type name as Microsoft.Extensions.AI turns it into a schema name (characters other than letters, digits, '_' and '-' become '_').</summary>
    private static string SchemaName(string name) => string.Concat(name.Select(c => char.IsAsciiLetterOrDigit(c) || c is '_' or '-' ? c : '_'));

    private static Type Underlying(Type type) => Nullable.GetUnderlyingType(type) ?? type;

    /// <summary>Narrows <paramref name="schema"/> (a subschema of <paramref name="root"/>) to what <paramref name="type"/> can read.</summary>
    private static void Tighten(JsonObject schema, Type type, JsonObject root, HashSet<(JsonNode, Type)> visited)
    {
        type = Underlying(type);
        if (schema["$ref"] is JsonValue reference && reference.TryGetValue(out string? pointer) && Resolve(schema, pointer, root) is JsonObject target)
            schema = target;
        if (!visited.Add((schema, type)))
            return;
        if (NumericRange(type) is var (min, max))
        {
            Narrow(schema, "minimum", min, raise: true);
            Narrow(schema, "maximum", max, raise: false);
            return;
        }
        if (type == typeof(char))
        {
            schema["pattern"] = StringFormats.Char;
            return;
        }
        if (type == typeof(TimeSpan))
        {
            schema["pattern"] = StringFormats.TimeSpan;
            return;
        }
        if (type == typeof(TimeOnly))
        {
            schema.Remove("format");
            schema["pattern"] = StringFormats.TimeOfDay;
            return;
        }
        if (type == typeof(byte[]))
        {
            schema["pattern"] = StringFormats.Base64;
            return;
        }
        if (type.IsPrimitive || type.IsEnum || type == typeof(string) || type == typeof(Guid) || type == typeof(Uri)
            || type == typeof(DateTime) || type == typeof(DateTimeOffset) || type == typeof(DateOnly) || type == typeof(JsonElement) || type == typeof(object))
            return;
        JsonTypeInfo info = Options.GetTypeInfo(type);
        switch (info.Kind)
        {
            case JsonTypeInfoKind.Enumerable when info.ElementType is { } element && schema["items"] is JsonObject items:
                Tighten(items, element, root, visited);
                break;
            case JsonTypeInfoKind.Dictionary when info.ElementType is { } value:
                if (schema["additionalProperties"] is JsonObject values)
                    Tighten(values, value, root, visited);
                if (KeyPattern(info.KeyType) is { } keys)
                    schema["propertyNames"] = keys;
                break;
            case JsonTypeInfoKind.Object when schema["properties"] is JsonObject properties:
                foreach (JsonPropertyInfo property in info.Properties)
                {
                    if (properties[property.Name] is JsonObject propertySchema)
                        Tighten(propertySchema, property.PropertyType, root, visited);
                }
                break;
        }
    }

    private static bool IsFractional(Type type) => type == typeof(decimal) || type == typeof(Half) || type == typeof(float) || type == typeof(double);

    /// <summary>The numbers a numeric type holds, as (minimum, maximum); null for other types.</summary>
    private static (string Min, string Max)? NumericRange(Type type) => type switch
    {
        _ when type == typeof(byte) => ("0", "255"),
        _ when type == typeof(sbyte) => ("-128", "127"),
        _ when type == typeof(short) => ("-32768", "32767"),
        _ when type == typeof(ushort) => ("0", "65535"),
        _ when type == typeof(int) => (int.MinValue.ToString(CultureInfo.InvariantCulture), int.MaxValue.ToString(CultureInfo.InvariantCulture)),
        _ when type == typeof(uint) => ("0", uint.MaxValue.ToString(CultureInfo.InvariantCulture)),
        _ when type == typeof(long) => (long.MinValue.ToString(CultureInfo.InvariantCulture), long.MaxValue.ToString(CultureInfo.InvariantCulture)),
        _ when type == typeof(ulong) => ("0", ulong.MaxValue.ToString(CultureInfo.InvariantCulture)),
        _ when type == typeof(Int128) => (Int128.MinValue.ToString(CultureInfo.InvariantCulture), Int128.MaxValue.ToString(CultureInfo.InvariantCulture)),
        _ when type == typeof(UInt128) => ("0", UInt128.MaxValue.ToString(CultureInfo.InvariantCulture)),
        _ when type == typeof(nint) => (long.MinValue.ToString(CultureInfo.InvariantCulture), long.MaxValue.ToString(CultureInfo.InvariantCulture)),
        _ when type == typeof(nuint) => ("0", ulong.MaxValue.ToString(CultureInfo.InvariantCulture)),
        // Beyond these, .NET's parsers fail (Half, decimal) or read infinity, which no JSON can carry back (float, double).
        _ when type == typeof(Half) => ("-65504", "65504"),
        _ when type == typeof(float) => ("-3.4028234663852886e38", "3.4028234663852886e38"),
        _ when type == typeof(double) => ("-1.7976931348623157e308", "1.7976931348623157e308"),
        _ when type == typeof(decimal) => ("-79228162514264337593543950335", "79228162514264337593543950335"),
        _ => null,
    };

    /// <summary>Keeps the stricter of the schema's bound and the type's.</summary>
    private static void Narrow(JsonObject schema, string keyword, string bound, bool raise)
    {
        var limit = DecimalNumber.Parse(bound);
        if (schema[keyword] is JsonValue existing && existing.GetValueKind() == JsonValueKind.Number)
        {
            int c = DecimalNumber.Parse(existing.ToJsonString()).CompareTo(limit);
            if (raise ? c >= 0 : c <= 0)
                return;
        }
        schema[keyword] = JsonNode.Parse(bound);
    }

    /// <summary>The propertyNames schema a dictionary key type needs (null when any string will do).</summary>
    private static JsonObject? KeyPattern(Type? keyType)
    {
        if (keyType is null)
            return null;
        keyType = Underlying(keyType);
        if (NumericRange(keyType) is var (min, max) && !IsFractional(keyType))
        {
            // Integers of fewer digits than the type's maximum always fit.
            int digits = max.Length - 1;
            string sign = min.StartsWith('-') ? "-?" : "";
            return new JsonObject { ["type"] = "string", ["pattern"] = $"^(0|{sign}[1-9][0-9]{{0,{digits - 1}}})$" };
        }
        if (keyType.IsEnum)
            return new JsonObject { ["enum"] = new JsonArray([.. Enum.GetNames(keyType).Select(n => (JsonNode)JsonValue.Create(n))]) };
        if (keyType == typeof(Guid))
            return new JsonObject { ["type"] = "string", ["format"] = "uuid" };
        return null;
    }

    /// <summary>A JSON pointer reference, from the nearest enclosing subschema with its own $schema, else the root.</summary>
    private static JsonNode? Resolve(JsonNode from, string pointer, JsonObject root)
    {
        if (!pointer.StartsWith('#'))
            return null;
        string[] tokens = pointer.Length <= 1 ? [] : [.. Uri.UnescapeDataString(pointer[1..]).TrimStart('/').Split('/').Select(t => t.Replace("~1", "/", StringComparison.Ordinal).Replace("~0", "~", StringComparison.Ordinal))];
        for (JsonNode? scope = from; scope is not null; scope = scope.Parent)
        {
            if (scope is JsonObject candidate && (candidate.ContainsKey("$schema") || ReferenceEquals(candidate, root)) && Navigate(candidate, tokens) is { } target)
                return target;
        }
        return null;
    }

    private static JsonNode? Navigate(JsonNode node, string[] tokens)
    {
        JsonNode? current = node;
        foreach (string token in tokens)
        {
            current = current switch
            {
                JsonObject obj => obj[token],
                JsonArray array when int.TryParse(token, out int i) && i >= 0 && i < array.Count => array[i],
                _ => null,
            };
            if (current is null)
                return null;
        }
        return current;
    }
}
