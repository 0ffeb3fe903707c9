using System.Text.Json;

namespace Dbrx.ConstrainedDecoding;

// The keywords of one schema object, read into a SchemaInfo: each value checked, allOf and $ref merged in,
// anyOf, oneOf and dependentRequired kept as groups of alternatives.
internal sealed partial class SchemaReader
{
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

        foreach (JsonProperty keyword in schema.EnumerateObject())
        {
            string at = $"{path}/{Escape(keyword.Name)}";
            JsonElement value = keyword.Value;
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
}
