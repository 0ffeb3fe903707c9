using System.Text.Json;
using System.Text.Json.Nodes;

namespace Dbrx.Cli.Bench;

/// <summary>
/// Writes an instance with its object properties in the schema's order, as the constraint generates them: the
/// properties a schema declares in declaration order, those of what it merges in ($ref, allOf) first, then its own,
/// then those of the anyOf/oneOf alternative that declares most of the instance's keys; then required names no schema
/// declares; then the rest as they were.
/// </summary>
internal static class SchemaOrder
{
    public static JsonNode? Apply(JsonNode? value, JsonElement schema) => Reorder(value, [schema], schema, depth: 0);

    private static JsonNode? Reorder(JsonNode? value, List<JsonElement> schemas, JsonElement root, int depth)
    {
        if (depth > 64)
            return value?.DeepClone();
        var keys = value is JsonObject instance ? instance.Select(p => p.Key).ToHashSet(StringComparer.Ordinal) : [];
        var all = new List<JsonElement>();
        foreach (JsonElement schema in schemas)
            Collect(schema, root, keys, all, depth: 0);
        switch (value)
        {
            case JsonObject obj:
            {
                var declared = Declared(all);
                var required = new List<string>();
                foreach (JsonElement schema in all)
                {
                    if (schema.TryGetProperty("required", out JsonElement names) && names.ValueKind == JsonValueKind.Array)
                        required.AddRange(names.EnumerateArray().Where(n => n.ValueKind == JsonValueKind.String).Select(n => n.GetString()!).Where(n => !declared.Contains(n) && !required.Contains(n)));
                }
                var order = declared.Concat(required).Where(obj.ContainsKey).Concat(obj.Select(p => p.Key).Where(k => !declared.Contains(k) && !required.Contains(k)));
                var result = new JsonObject();
                foreach (string key in order)
                    result[key] = Reorder(obj[key], [.. all.SelectMany(s => PropertySchemas(s, key))], root, depth + 1);
                return result;
            }
            case JsonArray array:
            {
                var result = new JsonArray();
                for (int i = 0; i < array.Count; i++)
                    result.Add(Reorder(array[i], [.. all.SelectMany(s => ItemSchemas(s, i))], root, depth + 1));
                return result;
            }
            default:
                return value?.DeepClone();
        }
    }

    private static List<string> Declared(List<JsonElement> schemas)
    {
        var declared = new List<string>();
        foreach (JsonElement schema in schemas)
        {
            if (schema.TryGetProperty("properties", out JsonElement properties) && properties.ValueKind == JsonValueKind.Object)
                declared.AddRange(properties.EnumerateObject().Select(p => p.Name).Where(n => !declared.Contains(n)));
        }
        return declared;
    }

    /// <summary>
    /// The schema and what it pulls in, in the order the compiler merges them: $ref and allOf first, then the schema
    /// itself, then the anyOf/oneOf alternative that declares most of <paramref name="keys"/>.
    /// </summary>
    private static void Collect(JsonElement schema, JsonElement root, HashSet<string> keys, List<JsonElement> output, int depth)
    {
        if (schema.ValueKind != JsonValueKind.Object || depth > 32)
            return;
        if (schema.TryGetProperty("$ref", out JsonElement reference) && reference.ValueKind == JsonValueKind.String && Resolve(root, reference.GetString()!) is { } target)
            Collect(target, root, keys, output, depth + 1);
        if (schema.TryGetProperty("allOf", out JsonElement all) && all.ValueKind == JsonValueKind.Array)
        {
            foreach (JsonElement part in all.EnumerateArray())
                Collect(part, root, keys, output, depth + 1);
        }
        output.Add(schema);
        foreach (string keyword in new[] { "anyOf", "oneOf" })
        {
            if (!schema.TryGetProperty(keyword, out JsonElement alternatives) || alternatives.ValueKind != JsonValueKind.Array)
                continue;
            List<JsonElement>? best = null;
            int bestCount = -1;
            foreach (JsonElement alternative in alternatives.EnumerateArray())
            {
                var collected = new List<JsonElement>();
                Collect(alternative, root, keys, collected, depth + 1);
                int count = Declared(collected).Count(keys.Contains);
                if (count > bestCount)
                {
                    best = collected;
                    bestCount = count;
                }
            }
            output.AddRange(best ?? []);
        }
    }

    private static IEnumerable<JsonElement> PropertySchemas(JsonElement schema, string name)
    {
        if (schema.TryGetProperty("properties", out JsonElement properties) && properties.ValueKind == JsonValueKind.Object && properties.TryGetProperty(name, out JsonElement property))
            yield return property;
        else if (schema.TryGetProperty("additionalProperties", out JsonElement additional) && additional.ValueKind == JsonValueKind.Object)
            yield return additional;
    }

    private static IEnumerable<JsonElement> ItemSchemas(JsonElement schema, int index)
    {
        foreach (string keyword in new[] { "prefixItems", "items" })
        {
            if (schema.TryGetProperty(keyword, out JsonElement items))
            {
                if (items.ValueKind == JsonValueKind.Object)
                    yield return items;
                else if (items.ValueKind == JsonValueKind.Array && index < items.GetArrayLength())
                    yield return items[index];
            }
        }
    }

    private static JsonElement? Resolve(JsonElement root, string reference)
    {
        if (!reference.StartsWith('#'))
            return null;
        JsonElement current = root;
        foreach (string token in reference.Length <= 1 ? [] : Uri.UnescapeDataString(reference[1..]).TrimStart('/').Split('/'))
        {
            string name = token.Replace("~1", "/", StringComparison.Ordinal).Replace("~0", "~", StringComparison.Ordinal);
            if (current.ValueKind == JsonValueKind.Object && current.TryGetProperty(name, out JsonElement next))
                current = next;
            else
                return null;
        }
        return current;
    }
}
