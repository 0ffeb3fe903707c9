using System.Text.Json;

namespace Dbrx.ConstrainedDecoding;

// not: the forms that have an exact positive equivalent, turned into one.
internal sealed partial class SchemaReader
{
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
}
