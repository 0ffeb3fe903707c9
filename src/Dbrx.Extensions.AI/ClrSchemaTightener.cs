using System.Globalization;
using System.Reflection;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization.Metadata;
using Microsoft.Extensions.AI;

namespace Dbrx.Extensions.AI;

/// <summary>
/// Narrows a schema where it is looser than the .NET type the caller will read it into, so that every value the
/// constraint lets through binds: integer widths (a <c>byte</c> is <c>"type":"integer"</c> in the schema), <c>decimal</c>,
/// <c>Half</c>, <c>float</c> and <c>double</c> ranges (no overflow to infinity), <c>char</c> (one UTF-16 unit), <c>TimeSpan</c>
/// (bounded days, real hours), <c>TimeOnly</c> (no offset), <c>byte[]</c> (base64), and dictionary keys of integer, enum
/// and Guid types. Only from types the caller supplied in-process: a tool's <see cref="AIFunction.UnderlyingMethod"/>
/// parameters, and the response type of <see cref="DbrxChatOptionsExtensions.WithResponseType"/>; never from a name a
/// schema carries (a client over HTTP can send any name). Narrowing only adds keywords (a second pattern goes into
/// <c>allOf</c>), so the answer still satisfies the schema given, with one exception: <c>TimeOnly</c>'s
/// <c>format: time</c>, which requires an offset <c>TimeOnly</c> cannot read, is replaced by the time of day it reads.
/// Nothing is kept between requests: a schema is parsed and written again per request (tool schemas are small), and
/// its compiled grammar is cached by the result's text.
/// </summary>
internal static class ClrSchemaTightener
{
    private static readonly JsonSerializerOptions Options = AIJsonUtilities.DefaultOptions;

    /// <summary>What .NET's TimeOnly reads: a time of day without an offset, up to 7 fractional digits.</summary>
    private const string TimeOfDayPattern = "^([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\\.[0-9]{1,7})?$";

    /// <summary>What .NET's TimeSpan reads (<c>[-][d.]hh:mm:ss[.fffffff]</c>), with days up to 9,999,999 so it never overflows.</summary>
    private const string TimeSpanPattern = "^-?([0-9]{1,7}\\.)?([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\\.[0-9]{1,7})?$";

    /// <summary>Base64 as .NET's byte[] reads it: padded groups of four.</summary>
    private const string Base64Pattern = "^([A-Za-z0-9+/]{4})*([A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$";

    /// <summary>One UTF-16 code unit that is not a surrogate, as .NET's char reads it.</summary>
    private const string CharPattern = "^[\\u0000-\\uFFFF]$";

    /// <summary>A tool's parameter schema, narrowed by its method's parameter types when it has one.</summary>
    public static JsonElement ForTool(AIFunctionDeclaration tool) =>
        tool is AIFunction { UnderlyingMethod: { } method } ? TightenParameters(tool.JsonSchema, method) : tool.JsonSchema;

    /// <summary>A response schema, narrowed by the type the caller will read it into, when it gave one that the schema describes.</summary>
    public static JsonElement ForResponse(JsonElement schema, Type? type)
    {
        if (type is null || JsonNode.Parse(schema.GetRawText()) is not JsonObject root)
            return schema;
        // GetResponseAsync<T> wraps what is not an object in {"data": ...}.
        JsonObject target = root;
        if (!IsObject(type) && root["properties"] is JsonObject { Count: 1 } wrapper && wrapper["data"] is JsonObject data)
            target = data;
        if (!Matches(target, type))
            return schema;
        Tighten(target, type, root, []);
        return ToElement(root);
    }

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
            // Beside the schema's own bounds, if any: the stricter of each pair holds.
            AddKeyword(schema, "minimum", JsonNode.Parse(min)!);
            AddKeyword(schema, "maximum", JsonNode.Parse(max)!);
            return;
        }
        if (type == typeof(char))
        {
            AddPattern(schema, CharPattern);
            return;
        }
        if (type == typeof(TimeSpan))
        {
            AddPattern(schema, TimeSpanPattern);
            return;
        }
        if (type == typeof(TimeOnly))
        {
            // The one replacement (see the class remarks): format "time" requires an offset TimeOnly cannot read.
            if (schema["format"] is JsonValue format && format.TryGetValue(out string? name) && name == "time")
                schema.Remove("format");
            AddPattern(schema, TimeOfDayPattern);
            return;
        }
        if (type == typeof(byte[]))
        {
            AddPattern(schema, Base64Pattern);
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
                    AddKeyword(schema, "propertyNames", keys);
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

    /// <summary>Adds a pattern the value must match too: the schema's own pattern, if any, still applies.</summary>
    private static void AddPattern(JsonObject schema, string pattern) => AddKeyword(schema, "pattern", JsonValue.Create(pattern));

    /// <summary>Adds a keyword the value must satisfy too: beside the schema's own one of that name, in allOf.</summary>
    private static void AddKeyword(JsonObject schema, string keyword, JsonNode value)
    {
        if (schema[keyword] is null)
        {
            schema[keyword] = value;
            return;
        }
        if (schema["allOf"] is not JsonArray all)
            schema["allOf"] = all = [];
        all.Add(new JsonObject { [keyword] = value });
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
