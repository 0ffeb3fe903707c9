using System.Text.Json;

namespace Dbrx.ConstrainedDecoding;

/// <summary>
/// Reads JSON Schema keywords (drafts 4 to 2020-12) into <see cref="SchemaInfo"/>, checking that each keyword's value
/// is valid and that its meaning can be enforced; everything else raises a <see cref="JsonSchemaException"/> naming
/// the keyword and its path. Resolves <c>$ref</c> within the document (JSON pointers, relative to the nearest
/// subschema that declares <c>$id</c> or <c>$schema</c> first, as Microsoft.Extensions.AI nests them, then to the
/// root). Keywords JSON Schema does not define are annotations and ignored, as are unknown formats.
/// </summary>
internal sealed class SchemaReader(JsonElement root)
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

    private static bool IsKnownKeyword(string name) => name is "type" or "enum" or "const" or "minLength" or "maxLength" or "pattern"
        or "minimum" or "maximum" or "exclusiveMinimum" or "exclusiveMaximum" or "multipleOf" or "properties" or "patternProperties"
        or "additionalProperties" or "required" or "propertyNames" or "minProperties" or "maxProperties" or "items" or "prefixItems"
        or "additionalItems" or "minItems" or "maxItems" or "uniqueItems" or "allOf" or "anyOf" or "oneOf" or "not" or "dependencies"
        or "dependentRequired" or "if" or "then" or "else" or "$ref" || Unsupported.ContainsKey(name);

    private void ReadKeywords(SchemaLocation location, SchemaInfo info)
    {
        JsonElement schema = location.Element;
        string path = location.Path;
        ObjectRule? objectRule = null;
        ArrayRule? arrayRule = null;
        ObjectRule Objects() => objectRule ??= new ObjectRule();
        ArrayRule Arrays() => arrayRule ??= new ArrayRule();
        bool draft4ExclusiveMinimum = false, draft4ExclusiveMaximum = false;
        JsonTypes? ownTypes = null;
        var keywords = new HashSet<string>(StringComparer.Ordinal);

        foreach (JsonProperty keyword in schema.EnumerateObject())
        {
            string at = $"{path}/{Escape(keyword.Name)}";
            JsonElement value = keyword.Value;
            if (IsKnownKeyword(keyword.Name))
                keywords.Add(keyword.Name);
            switch (keyword.Name)
            {
                case "$ref":
                    if (value.ValueKind != JsonValueKind.String)
                        throw new JsonSchemaException("$ref", at, $"must be a string, not {Describe(value)}");
                    info.Merge(Read(Resolve(value.GetString()!, location)));
                    break;
                case "allOf":
                    foreach (SchemaLocation part in SchemaArray(keyword.Name, value, at))
                        info.Merge(Read(part));
                    break;
                case "anyOf" or "oneOf":
                    info.Groups.Add(new SchemaGroup([.. SchemaArray(keyword.Name, value, at).Select(Read)], keyword.Name == "oneOf", keyword.Name, at));
                    break;
                case "not":
                    Negate(new SchemaLocation(value, at), info);
                    break;
                case "type":
                    ownTypes = Types(value, at);
                    break;
                case "enum":
                    if (value.ValueKind != JsonValueKind.Array || value.GetArrayLength() == 0)
                        throw new JsonSchemaException("enum", at, $"must be a non-empty array, not {Describe(value)}");
                    Restrict(info, [.. value.EnumerateArray()]);
                    break;
                case "const":
                    Restrict(info, [value]);
                    break;
                case "minLength":
                    info.MinLength = Math.Max(info.MinLength, Count(keyword.Name, value, at));
                    break;
                case "maxLength":
                    info.MaxLength = Math.Min(info.MaxLength ?? int.MaxValue, Count(keyword.Name, value, at));
                    break;
                case "pattern":
                    info.Patterns.Add((Pattern(value, at), at, false));
                    break;
                case "format":
                    if (value.ValueKind != JsonValueKind.String)
                        throw new JsonSchemaException("format", at, $"must be a string, not {Describe(value)}");
                    if (StringFormats.Pattern(value.GetString()!) is not null)
                        info.Formats.Add((value.GetString()!, at));
                    break;
                case "minimum":
                    info.RaiseMinimum(Number(keyword.Name, value, at), exclusive: false);
                    break;
                case "maximum":
                    info.LowerMaximum(Number(keyword.Name, value, at), exclusive: false);
                    break;
                case "exclusiveMinimum":
                    if (value.ValueKind is JsonValueKind.True or JsonValueKind.False)
                        draft4ExclusiveMinimum = value.ValueKind == JsonValueKind.True;
                    else
                        info.RaiseMinimum(Number(keyword.Name, value, at), exclusive: true);
                    break;
                case "exclusiveMaximum":
                    if (value.ValueKind is JsonValueKind.True or JsonValueKind.False)
                        draft4ExclusiveMaximum = value.ValueKind == JsonValueKind.True;
                    else
                        info.LowerMaximum(Number(keyword.Name, value, at), exclusive: true);
                    break;
                case "multipleOf":
                    DecimalNumber multiple = Number(keyword.Name, value, at);
                    if (multiple.Sign <= 0)
                        throw new JsonSchemaException("multipleOf", at, $"must be greater than 0, not {multiple}");
                    info.MultipleOf.Add((multiple, at));
                    break;
                case "properties":
                    foreach (JsonProperty property in SchemaObject(keyword.Name, value, at))
                        Objects().Properties.Add((property.Name, new SchemaLocation(property.Value, $"{at}/{Escape(property.Name)}")));
                    break;
                case "patternProperties":
                    foreach (JsonProperty property in SchemaObject(keyword.Name, value, at))
                    {
                        string propertyPath = $"{at}/{Escape(property.Name)}";
                        Objects().PatternProperties.Add((CheckPattern(property.Name, propertyPath), propertyPath, new SchemaLocation(property.Value, propertyPath)));
                    }
                    break;
                case "additionalProperties":
                    CheckSchema(keyword.Name, value, at);
                    if (value.ValueKind == JsonValueKind.False)
                        Objects().AdditionalFalse = true;
                    else if (value.ValueKind == JsonValueKind.Object)
                        Objects().Additional = new SchemaLocation(value, at);
                    break;
                case "required":
                    // Draft 3 wrote "required": true inside the property; later drafts give it no meaning there.
                    if (value.ValueKind is JsonValueKind.True or JsonValueKind.False)
                        break;
                    foreach (string name in Names(keyword.Name, value, at))
                    {
                        if (!info.Required.Contains(name))
                            info.Required.Add(name);
                    }
                    break;
                case "propertyNames":
                    CheckSchema(keyword.Name, value, at);
                    info.PropertyNames.Add(new SchemaLocation(value, at));
                    break;
                case "minProperties":
                    info.MinProperties = Math.Max(info.MinProperties, Count(keyword.Name, value, at));
                    break;
                case "maxProperties":
                    info.MaxProperties = Math.Min(info.MaxProperties ?? int.MaxValue, Count(keyword.Name, value, at));
                    break;
                case "dependentRequired" or "dependencies":
                    ReadDependencies(keyword.Name, value, at, info);
                    break;
                case "items":
                    if (value.ValueKind == JsonValueKind.Array)
                    {
                        Arrays().Prefix.AddRange(SchemaArray(keyword.Name, value, at, allowEmpty: true));
                    }
                    else
                    {
                        CheckSchema(keyword.Name, value, at);
                        SetItems(Arrays(), value, at);
                    }
                    break;
                case "prefixItems":
                    Arrays().Prefix.AddRange(SchemaArray(keyword.Name, value, at, allowEmpty: true));
                    break;
                case "additionalItems":
                    CheckSchema(keyword.Name, value, at);
                    // It only means something after an items array (a tuple).
                    if (schema.TryGetProperty("items", out JsonElement items) && items.ValueKind == JsonValueKind.Array)
                        SetItems(Arrays(), value, at);
                    break;
                case "minItems":
                    info.MinItems = Math.Max(info.MinItems, Count(keyword.Name, value, at));
                    break;
                case "maxItems":
                    info.MaxItems = Math.Min(info.MaxItems ?? int.MaxValue, Count(keyword.Name, value, at));
                    break;
                case "uniqueItems":
                    if (value.ValueKind is not (JsonValueKind.True or JsonValueKind.False))
                        throw new JsonSchemaException("uniqueItems", at, $"must be true or false, not {Describe(value)}");
                    if (value.ValueKind == JsonValueKind.True)
                        info.UniqueItemsPath ??= at;
                    break;
                case "if":
                    CheckSchema(keyword.Name, value, at);
                    if (schema.TryGetProperty("then", out _) || schema.TryGetProperty("else", out _))
                        throw new JsonSchemaException("if", at, "conditional schemas (if/then/else) are not enforced");
                    break;
                case "then" or "else":
                    CheckSchema(keyword.Name, value, at);
                    break;
                default:
                    if (Unsupported.TryGetValue(keyword.Name, out string? reason))
                        throw new JsonSchemaException(keyword.Name, at, reason);
                    break;
            }
        }

        if (ownTypes is { } types)
        {
            if (schema.TryGetProperty("nullable", out JsonElement nullable) && nullable.ValueKind == JsonValueKind.True)
                types |= JsonTypes.Null;
            info.Types &= types;
        }
        if (draft4ExclusiveMinimum && info.Minimum is { } minimum)
            info.RaiseMinimum(minimum, exclusive: true);
        if (draft4ExclusiveMaximum && info.Maximum is { } maximum)
            info.LowerMaximum(maximum, exclusive: true);
        if (objectRule is not null)
            info.ObjectRules.Add(objectRule);
        if (arrayRule is not null)
            info.ArrayRules.Add(arrayRule);
        info.OnlyRequired = keywords.SetEquals(["required"]);
    }

    private static void SetItems(ArrayRule rule, JsonElement value, string at)
    {
        if (value.ValueKind == JsonValueKind.False)
            rule.ItemsFalse = true;
        else if (value.ValueKind == JsonValueKind.Object)
            rule.Items = new SchemaLocation(value, at);
    }

    private static void Restrict(SchemaInfo info, List<JsonElement> values) =>
        info.Values = info.Values is null ? values : [.. info.Values.Where(v => values.Any(w => JsonValues.Equal(v, w)))];

    /// <summary>
    /// <c>dependentRequired</c> (and the array form of draft-7 <c>dependencies</c>): when a property is present, the
    /// listed ones must be too, which is "absent, or all of them present". The schema form is not enforced.
    /// </summary>
    private void ReadDependencies(string keyword, JsonElement value, string at, SchemaInfo info)
    {
        if (value.ValueKind != JsonValueKind.Object)
            throw new JsonSchemaException(keyword, at, $"must be an object, not {Describe(value)}");
        foreach (JsonProperty dependency in value.EnumerateObject())
        {
            string entry = $"{at}/{Escape(dependency.Name)}";
            if (dependency.Value.ValueKind != JsonValueKind.Array)
            {
                if (keyword == "dependencies" && dependency.Value.ValueKind is JsonValueKind.Object or JsonValueKind.True)
                {
                    // A schema dependency that asserts nothing is no constraint; any other is not enforced.
                    if (dependency.Value.ValueKind == JsonValueKind.Object && dependency.Value.EnumerateObject().Any(p => IsKnownKeyword(p.Name)))
                        throw new JsonSchemaException(keyword, entry, "schema dependencies are not enforced");
                    continue;
                }
                throw new JsonSchemaException(keyword, entry, $"must list property names, not {Describe(dependency.Value)}");
            }
            List<string> names = [.. Names(keyword, dependency.Value, entry)];
            if (names.Count == 0)
                continue;
            var absent = new SchemaInfo(entry);
            absent.Forbidden.Add(dependency.Name);
            var present = new SchemaInfo(entry);
            present.Required.AddRange(names);
            info.Groups.Add(new SchemaGroup([absent, present], Exclusive: false, keyword, entry));
        }
    }

    /// <summary>
    /// <c>not</c>, in the forms that have an exact positive equivalent: <c>{}</c> (nothing), a type, enum or const
    /// values (strings, booleans, null), required names (those properties absent), a pattern (strings that do not
    /// match), an anyOf of such forms, or another <c>not</c>. Other forms raise an error.
    /// </summary>
    private void Negate(SchemaLocation negated, SchemaInfo info)
    {
        JsonElement schema = negated.Element;
        string at = negated.Path;
        CheckSchema("not", schema, at);
        if (schema.ValueKind == JsonValueKind.False)
            return;
        var keywords = schema.ValueKind == JsonValueKind.Object
            ? schema.EnumerateObject().Select(p => p.Name).Where(name => IsKnownKeyword(name)).ToHashSet()
            : [];
        if (keywords.Count == 0)
        {
            info.Unsatisfiable = true;
            return;
        }
        if (keywords.SetEquals(["not"]))
        {
            info.Merge(Read(new SchemaLocation(schema.GetProperty("not"), $"{at}/not")));
            return;
        }
        if (keywords.SetEquals(["anyOf"]))
        {
            foreach (SchemaLocation alternative in SchemaArray("anyOf", schema.GetProperty("anyOf"), $"{at}/anyOf"))
                Negate(alternative, info);
            return;
        }
        SchemaInfo inner = Read(negated);
        if (keywords.SetEquals(["type"]))
        {
            info.Types &= ~inner.Types;
        }
        else if (keywords.IsSubsetOf(["enum", "const"]) && inner.Values is { } values)
        {
            if (values.Any(v => v.ValueKind == JsonValueKind.Number))
                throw new JsonSchemaException("not", at, "ruling out numbers with not/enum is not enforced");
            info.ExcludedValues.AddRange(values);
        }
        else if (keywords.SetEquals(["required"]))
        {
            if (inner.Required.Count == 1)
            {
                info.Forbidden.Add(inner.Required[0]);
            }
            else if (inner.Required.Count > 1)
            {
                info.Groups.Add(new SchemaGroup([.. inner.Required.Select(name =>
                {
                    var absent = new SchemaInfo(at);
                    absent.Forbidden.Add(name);
                    return absent;
                })], Exclusive: false, "not", at));
            }
            else
            {
                // not {required: []} rules out every object.
                info.Types &= ~JsonTypes.Object;
            }
        }
        else if (keywords.SetEquals(["pattern"]) || keywords.SetEquals(["pattern", "type"]) && inner.Types == JsonTypes.String)
        {
            foreach (var (pattern, path, _) in inner.Patterns)
                info.Patterns.Add((pattern, path, true));
        }
        else
        {
            throw new JsonSchemaException("not", at, $"'not' with {string.Join(", ", keywords.Order())} is not enforced (supported: a type, enum or const values, required names, a pattern, anyOf of these, or not)");
        }
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
