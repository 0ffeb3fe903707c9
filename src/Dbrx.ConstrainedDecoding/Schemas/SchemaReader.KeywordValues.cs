using System.Text.Json;

namespace Dbrx.ConstrainedDecoding;

// The checks of keyword values (type names, patterns, counts, numbers, property names, subschemas), each raising a
// JsonSchemaException that names the keyword, its path and what was found.
internal sealed partial class SchemaReader
{
    private static JsonTypes Types(JsonElement value, string at)
    {
        static JsonTypes One(JsonElement name, string at) => name.ValueKind == JsonValueKind.String
            ? name.GetString() switch
            {
                "null" => JsonTypes.Null,
                "boolean" => JsonTypes.Boolean,
                "object" => JsonTypes.Object,
                "array" => JsonTypes.Array,
                "string" => JsonTypes.String,
                "integer" => JsonTypes.Integer,
                "number" => JsonTypes.Number,
                var other => throw new JsonSchemaException("type", at, $"'{other}' is not a JSON Schema type (null, boolean, object, array, string, integer, number)"),
            }
            : throw new JsonSchemaException("type", at, $"must be a type name or an array of them, not {Describe(name)}");
        if (value.ValueKind != JsonValueKind.Array)
            return One(value, at);
        if (value.GetArrayLength() == 0)
            throw new JsonSchemaException("type", at, "must name at least one type");
        return value.EnumerateArray().Aggregate(JsonTypes.None, (all, name) => all | One(name, at));
    }

    private static string Pattern(JsonElement value, string at) => value.ValueKind == JsonValueKind.String
        ? CheckPattern(value.GetString()!, at)
        : throw new JsonSchemaException("pattern", at, $"must be a string, not {Describe(value)}");

    private static string CheckPattern(string pattern, string at)
    {
        try
        {
            RegexParser.Parse(pattern);
        }
        catch (FormatException e)
        {
            throw new JsonSchemaException("pattern", at, $"'{pattern}' uses {e.Message}, outside the supported regular-expression subset", e);
        }
        return pattern;
    }

    private static int Count(string keyword, JsonElement value, string at) =>
        value.ValueKind == JsonValueKind.Number && value.TryGetDecimal(out decimal number) && number >= 0 && number == decimal.Truncate(number)
            ? (int)Math.Min(number, int.MaxValue)
            : throw new JsonSchemaException(keyword, at, $"must be a non-negative integer, not {Describe(value)}");

    private static DecimalNumber Number(string keyword, JsonElement value, string at) =>
        value.ValueKind == JsonValueKind.Number
            ? DecimalNumber.Parse(value.GetRawText())
            : throw new JsonSchemaException(keyword, at, $"must be a number, not {Describe(value)}");

    private static IEnumerable<string> Names(string keyword, JsonElement value, string at)
    {
        if (value.ValueKind != JsonValueKind.Array || value.EnumerateArray().Any(n => n.ValueKind != JsonValueKind.String))
            throw new JsonSchemaException(keyword, at, $"must be an array of property names, not {Describe(value)}");
        return value.EnumerateArray().Select(n => n.GetString()!).Distinct();
    }

    private static void CheckSchema(string keyword, JsonElement value, string at)
    {
        if (value.ValueKind is not (JsonValueKind.Object or JsonValueKind.True or JsonValueKind.False))
            throw new JsonSchemaException(keyword, at, $"must be a schema (an object or a boolean), not {Describe(value)}");
    }

    private static IEnumerable<JsonProperty> SchemaObject(string keyword, JsonElement value, string at)
    {
        if (value.ValueKind != JsonValueKind.Object)
            throw new JsonSchemaException(keyword, at, $"must be an object of schemas, not {Describe(value)}");
        foreach (JsonProperty property in value.EnumerateObject())
            CheckSchema(keyword, property.Value, $"{at}/{Escape(property.Name)}");
        return value.EnumerateObject();
    }

    private static List<SchemaLocation> SchemaArray(string keyword, JsonElement value, string at, bool allowEmpty = false)
    {
        if (value.ValueKind != JsonValueKind.Array || !allowEmpty && value.GetArrayLength() == 0)
            throw new JsonSchemaException(keyword, at, $"must be a{(allowEmpty ? "n" : " non-empty")} array of schemas, not {Describe(value)}");
        var result = new List<SchemaLocation>();
        int i = 0;
        foreach (JsonElement item in value.EnumerateArray())
        {
            CheckSchema(keyword, item, $"{at}/{i}");
            result.Add(new SchemaLocation(item, $"{at}/{i++}"));
        }
        return result;
    }

    private static string Describe(JsonElement value)
    {
        string text = value.GetRawText();
        return text.Length > 40 ? text[..40] + "…" : text;
    }
}
