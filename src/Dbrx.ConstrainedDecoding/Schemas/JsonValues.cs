using System.Text.Json;

namespace Dbrx.ConstrainedDecoding;

/// <summary>JSON values as JSON Schema compares them: numbers by value, objects regardless of key order.</summary>
internal static class JsonValues
{
    public static bool Equal(JsonElement a, JsonElement b)
    {
        if (a.ValueKind != b.ValueKind)
            return false;
        switch (a.ValueKind)
        {
            case JsonValueKind.Number:
                return DecimalNumber.Parse(a.GetRawText()).CompareTo(DecimalNumber.Parse(b.GetRawText())) == 0;
            case JsonValueKind.String:
                return a.GetString() == b.GetString();
            case JsonValueKind.Array:
                return a.GetArrayLength() == b.GetArrayLength() && a.EnumerateArray().Zip(b.EnumerateArray()).All(p => Equal(p.First, p.Second));
            case JsonValueKind.Object:
                var left = a.EnumerateObject().ToList();
                var right = b.EnumerateObject().ToDictionary(p => p.Name, p => p.Value);
                return left.Count == right.Count && left.All(p => right.TryGetValue(p.Name, out JsonElement v) && Equal(p.Value, v));
            default:
                return true;
        }
    }

    /// <summary>The one type flag a value has (<see cref="JsonTypes.Integer"/> for integral numbers).</summary>
    public static JsonTypes TypeOf(JsonElement value) => value.ValueKind switch
    {
        JsonValueKind.Null => JsonTypes.Null,
        JsonValueKind.True or JsonValueKind.False => JsonTypes.Boolean,
        JsonValueKind.Object => JsonTypes.Object,
        JsonValueKind.Array => JsonTypes.Array,
        JsonValueKind.String => JsonTypes.String,
        _ => DecimalNumber.Parse(value.GetRawText()).Fraction.Length == 0 ? JsonTypes.Integer : JsonTypes.NonInteger,
    };

    /// <summary>Whether the value's type is among <paramref name="types"/>.</summary>
    public static bool HasAllowedType(JsonElement value, JsonTypes types) => (TypeOf(value) & types) != 0;
}
