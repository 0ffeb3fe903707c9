using System.Globalization;
using System.Text.Json;
using Microsoft.Extensions.AI;

namespace Dbrx.Extensions.AI;

/// <summary>
/// Reads the options a request carries in <see cref="ChatOptions.AdditionalProperties"/> (typed by .NET callers, JSON
/// elements when they came over HTTP), refusing a value of the wrong kind with a message naming its key.
/// </summary>
internal static class AdditionalPropertyValues
{
    /// <summary>A number under <paramref name="key"/> (a .NET number, a JSON number, or a number as text); null when absent.</summary>
    public static double? Number(AdditionalPropertiesDictionary? properties, string key)
    {
        if (properties is null || !properties.TryGetValue(key, out object? value) || value is null)
            return null;
        return value switch
        {
            JsonElement { ValueKind: JsonValueKind.Number } e => e.GetDouble(),
            JsonElement { ValueKind: JsonValueKind.String } e when double.TryParse(e.GetString(), NumberStyles.Float, CultureInfo.InvariantCulture, out double d) => d,
            string s when double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out double d) => d,
            IConvertible c when value is not string => c.ToDouble(CultureInfo.InvariantCulture),
            _ => throw new ArgumentException($"AdditionalProperties[\"{key}\"] must be a number, not '{value}'."),
        };
    }

    /// <summary>A flag under <paramref name="key"/> (a bool, a JSON boolean, or "true"/"false"); null when absent.</summary>
    public static bool? Flag(AdditionalPropertiesDictionary? properties, string key)
    {
        if (properties is null || !properties.TryGetValue(key, out object? value) || value is null)
            return null;
        return value switch
        {
            bool b => b,
            JsonElement { ValueKind: JsonValueKind.True } => true,
            JsonElement { ValueKind: JsonValueKind.False } => false,
            string s when bool.TryParse(s, out bool b) => b,
            _ => throw new ArgumentException($"AdditionalProperties[\"{key}\"] must be true or false, not '{value}'."),
        };
    }

    /// <summary>The <c>logit_bias</c> map of token ids to biases, typed or as JSON; null when absent.</summary>
    public static Dictionary<int, double>? LogitBias(AdditionalPropertiesDictionary? properties)
    {
        if (properties is null || !properties.TryGetValue("logit_bias", out object? value) || value is null)
            return null;
        var bias = new Dictionary<int, double>();
        switch (value)
        {
            case IDictionary<int, double> typed:
                return new Dictionary<int, double>(typed);
            case JsonElement { ValueKind: JsonValueKind.Object } element:
                foreach (JsonProperty entry in element.EnumerateObject())
                    bias[ParseId(entry.Name)] = entry.Value.GetDouble();
                return bias;
            case System.Collections.IDictionary entries:
                foreach (System.Collections.DictionaryEntry entry in entries)
                    bias[ParseId(Convert.ToString(entry.Key, CultureInfo.InvariantCulture)!)] = Convert.ToDouble(entry.Value, CultureInfo.InvariantCulture);
                return bias;
            default:
                throw new ArgumentException("AdditionalProperties[\"logit_bias\"] must map token ids to numbers.");
        }

        static int ParseId(string text) => int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out int id)
            ? id
            : throw new ArgumentException($"AdditionalProperties[\"logit_bias\"] has key '{text}', which is not a token id.");
    }
}
