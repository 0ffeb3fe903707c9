using System.Text.Json;

namespace Dbrx.ConstrainedDecoding;

// $ref: JSON pointers resolved within the document, and a schema that is only a $ref recognised as its target.
internal sealed partial class SchemaReader
{
    /// <summary>
    /// Where a schema's meaning lives: a schema that is only a <c>$ref</c> (plus annotations) stands for its target,
    /// so both are recognised as the same (recursive schemas close their loops through this).
    /// </summary>
    public string Canonical(SchemaLocation location)
    {
        var seen = new HashSet<string>();
        while (location.Element.ValueKind == JsonValueKind.Object
            && location.Element.TryGetProperty("$ref", out JsonElement reference)
            && reference.ValueKind == JsonValueKind.String
            && location.Element.EnumerateObject().All(p => p.Name == "$ref" || Annotations.Contains(p.Name) || !IsKnownKeyword(p.Name))
            && seen.Add(location.Path))
        {
            location = Resolve(reference.GetString()!, location);
        }
        return location.Path;
    }

    /// <summary>The location a <c>$ref</c> points to.</summary>
    public SchemaLocation Resolve(string reference, SchemaLocation from)
    {
        string at = $"{from.Path}/$ref";
        string pointer = reference;
        if (!pointer.StartsWith('#'))
        {
            // An absolute reference to the document's own $id (with a fragment) is a reference into it.
            string? id = root.ValueKind == JsonValueKind.Object && root.TryGetProperty("$id", out JsonElement idElement) && idElement.ValueKind == JsonValueKind.String ? idElement.GetString() : null;
            int hash = pointer.IndexOf('#');
            string document = hash < 0 ? pointer : pointer[..hash];
            if (id is null || document.Length == 0 || id.TrimEnd('#') != document)
                throw new JsonSchemaException("$ref", at, $"'{reference}' points outside the schema; only references within it (#/...) are resolved");
            pointer = hash < 0 ? "#" : pointer[hash..];
        }
        string[] tokens = pointer.Length <= 1 ? [] : [.. Uri.UnescapeDataString(pointer[1..]).TrimStart('/').Split('/').Select(t => t.Replace("~1", "/", StringComparison.Ordinal).Replace("~0", "~", StringComparison.Ordinal))];
        if (pointer.Length > 1 && pointer[1] != '/')
            throw new JsonSchemaException("$ref", at, $"'{reference}' names an anchor; only JSON-pointer references (#/...) are resolved");
        foreach (var (baseElement, basePath) in ResolutionBases(from.Path))
        {
            if (Navigate(baseElement, tokens) is { } target)
                return new SchemaLocation(target, basePath + string.Concat(tokens.Select(t => "/" + Escape(t))));
        }
        throw new JsonSchemaException("$ref", at, $"'{reference}' points to nothing in the schema");
    }

    /// <summary>The subschemas that declare $id or $schema along the path, nearest first, then the root.</summary>
    private IEnumerable<(JsonElement Element, string Path)> ResolutionBases(string path)
    {
        var bases = new List<(JsonElement, string)> { (root, "#") };
        JsonElement current = root;
        string currentPath = "#";
        foreach (string token in path.Length <= 1 ? [] : path[2..].Split('/').Select(t => t.Replace("~1", "/", StringComparison.Ordinal).Replace("~0", "~", StringComparison.Ordinal)))
        {
            if (Navigate(current, [token]) is not { } next)
                break;
            current = next;
            currentPath += "/" + Escape(token);
            if (current.ValueKind == JsonValueKind.Object && (current.TryGetProperty("$schema", out _) || current.TryGetProperty("$id", out _)))
                bases.Add((current, currentPath));
        }
        bases.Reverse();
        return bases;
    }

    private static JsonElement? Navigate(JsonElement element, IEnumerable<string> tokens)
    {
        foreach (string token in tokens)
        {
            if (element.ValueKind == JsonValueKind.Object && element.TryGetProperty(token, out JsonElement child))
                element = child;
            else if (element.ValueKind == JsonValueKind.Array && int.TryParse(token, out int index) && index >= 0 && index < element.GetArrayLength())
                element = element[index];
            else
                return null;
        }
        return element;
    }

    /// <summary>A JSON pointer token.</summary>
    public static string Escape(string token) => token.Replace("~", "~0", StringComparison.Ordinal).Replace("/", "~1", StringComparison.Ordinal);
}
