namespace Dbrx.ConstrainedDecoding;

// anyOf and oneOf: a schema expanded into alternatives without them (disjunctive normal form), and whether two
// alternatives can match one value, which decides how an exclusive oneOf is enforced.
internal sealed partial class JsonSchemaCompiler
{
    /// <summary>The schema as alternatives without anyOf/oneOf (disjunctive normal form).</summary>
    private List<SchemaInfo> Expand(SchemaInfo info)
    {
        if (info.Unsatisfiable)
            return [];
        if (info.Groups.Count == 0)
            return [info];
        SchemaGroup group = info.Groups[0];
        SchemaInfo rest = info.WithoutGroups();
        rest.Groups.AddRange(info.Groups.Skip(1));
        var result = new List<SchemaInfo>();
        if (group.Exclusive)
        {
            result.AddRange(ExpandExclusive(rest, group));
        }
        else
        {
            foreach (SchemaInfo alternative in group.Alternatives)
                result.AddRange(Expand(With(rest, alternative)));
        }
        if (result.Count > MaxAlternatives)
            throw new JsonSchemaException(group.Keyword, group.Path, $"combined with the schema's other anyOf/oneOf it expands to more than {MaxAlternatives} alternatives");
        return result;
    }

    private static SchemaInfo With(SchemaInfo rest, SchemaInfo alternative)
    {
        SchemaInfo merged = rest.WithoutGroups();
        merged.Groups.AddRange(rest.Groups);
        merged.Merge(alternative);
        return merged;
    }

    /// <summary>
    /// oneOf: exactly one alternative holds. Where no two can hold at once (different types, values of a property
    /// that exclude each other, a property one requires and the other forbids, ...) it is anyOf. Otherwise each
    /// alternative is kept apart from every other it may overlap with by their required properties: it must leave out
    /// one of those only the other requires, so nothing it accepts satisfies the other; if the other requires nothing
    /// it does not, every value of it has what the other requires, and it is dropped. This is exact where overlapping
    /// alternatives differ in their required properties alone, and otherwise refuses (never accepts) the values
    /// that differ elsewhere. Overlapping alternatives with the same required properties are refused at compile
    /// time: enforcing them as anyOf would accept values that match two.
    /// </summary>
    private List<SchemaInfo> ExpandExclusive(SchemaInfo rest, SchemaGroup group)
    {
        var expanded = group.Alternatives.Select(a => Expand(With(rest, a))).ToList();
        var overlapping = new bool[expanded.Count, expanded.Count];
        bool any = false;
        for (int i = 0; i < expanded.Count; i++)
        {
            for (int j = i + 1; j < expanded.Count; j++)
            {
                if (expanded[i].All(a => expanded[j].All(b => Disjoint(a, b, depth: 0))))
                    continue;
                if (RequiredOnlyBy(expanded[j], expanded[i]).Count == 0 && RequiredOnlyBy(expanded[i], expanded[j]).Count == 0)
                    throw new JsonSchemaException(group.Keyword, group.Path,
                        $"alternatives {i} and {j} can both match one value and require the same properties, and oneOf is only enforced where its alternatives can be told apart (use anyOf if either may match)");
                overlapping[i, j] = overlapping[j, i] = any = true;
            }
        }
        if (!any)
            return [.. expanded.SelectMany(e => e)];
        var result = new List<SchemaInfo>();
        for (int i = 0; i < expanded.Count; i++)
        {
            var apart = expanded[i].Select(a =>
            {
                SchemaInfo copy = a.WithoutGroups();
                copy.Groups.AddRange(a.Groups);
                return copy;
            }).ToList();
            bool dropped = false;
            for (int j = 0; j < expanded.Count && !dropped; j++)
            {
                if (!overlapping[i, j])
                    continue;
                var missing = RequiredOnlyBy(expanded[j], expanded[i]);
                dropped = missing.Count == 0;
                foreach (SchemaInfo alternative in apart)
                {
                    // Values that are not objects have no properties to tell them apart.
                    alternative.Types &= JsonTypes.Object;
                    if (missing.Count == 1)
                        alternative.Forbidden.Add(missing[0]);
                    else if (missing.Count > 1)
                        alternative.Groups.Add(new SchemaGroup([.. missing.Select(name => Forbidding(name, group.Path))], false, group.Keyword, group.Path));
                }
            }
            if (!dropped)
                result.AddRange(apart.SelectMany(Expand));
        }
        return result;
    }

    /// <summary>Names every expansion of <paramref name="required"/> requires that no expansion of <paramref name="other"/> does.</summary>
    private static List<string> RequiredOnlyBy(List<SchemaInfo> required, List<SchemaInfo> other)
    {
        if (required.Count == 0)
            return [];
        var names = required.Select(r => r.Required.AsEnumerable()).Aggregate((a, b) => a.Intersect(b)).ToList();
        return [.. names.Where(n => other.All(o => !o.Required.Contains(n)))];
    }

    private static SchemaInfo Forbidding(string name, string path)
    {
        var info = new SchemaInfo(path);
        info.Forbidden.Add(name);
        return info;
    }

    /// <summary>Whether no value can satisfy both (false when it cannot be shown).</summary>
    private bool Disjoint(SchemaInfo a, SchemaInfo b, int depth)
    {
        if (a.Unsatisfiable || b.Unsatisfiable)
            return true;
        JsonTypes common = EffectiveTypes(a) & EffectiveTypes(b);
        foreach (JsonTypes type in new[] { JsonTypes.Null, JsonTypes.Boolean, JsonTypes.Object, JsonTypes.Array, JsonTypes.String, JsonTypes.Integer, JsonTypes.NonInteger })
        {
            if ((common & type) != 0 && !DisjointAs(a, b, type, depth))
                return false;
        }
        return true;
    }

    private static JsonTypes EffectiveTypes(SchemaInfo info) =>
        info.Values is { } values ? values.Aggregate(JsonTypes.None, (t, v) => t | JsonValues.TypeOf(v)) & info.Types : info.Types;

    private bool DisjointAs(SchemaInfo a, SchemaInfo b, JsonTypes type, int depth)
    {
        if (a.Values is { } av && b.Values is { } bv)
            return !av.Where(v => JsonValues.TypeOf(v) == type).Any(v => bv.Any(w => JsonValues.Equal(v, w)));
        // Values one allows that the other rules out with not/enum.
        foreach (var (x, y) in new[] { (a, b), (b, a) })
        {
            if (x.Values is { } values && values.Where(v => JsonValues.TypeOf(v) == type).All(v => y.ExcludedValues.Any(e => JsonValues.Equal(v, e))))
                return true;
        }
        switch (type)
        {
            case JsonTypes.Object:
                // A property one requires and the other forbids or allows only other values for.
                foreach (var (x, y) in new[] { (a, b), (b, a) })
                {
                    foreach (string name in x.Required)
                    {
                        if (Forbids(y, name) || depth < 3 && DisjointValues(x, y, name, depth))
                            return true;
                    }
                    if (x.Required.Count > (y.MaxProperties ?? int.MaxValue) || x.MinProperties > (y.MaxProperties ?? int.MaxValue))
                        return true;
                }
                return false;
            case JsonTypes.Integer or JsonTypes.NonInteger:
                return a.Maximum is { } aMax && b.Minimum is { } bMin && Below(aMax, a.MaximumExclusive, bMin, b.MinimumExclusive)
                    || b.Maximum is { } bMax && a.Minimum is { } aMin && Below(bMax, b.MaximumExclusive, aMin, a.MinimumExclusive);
            case JsonTypes.String:
                return a.MaxLength < b.MinLength || b.MaxLength < a.MinLength;
            case JsonTypes.Array:
                return a.MaxItems < b.MinItems || b.MaxItems < a.MinItems;
            default:
                return false;
        }
    }

    private static bool Below(DecimalNumber max, bool maxExclusive, DecimalNumber min, bool minExclusive)
    {
        int c = max.CompareTo(min);
        return c < 0 || c == 0 && (maxExclusive || minExclusive);
    }

    private bool DisjointValues(SchemaInfo a, SchemaInfo b, string name, int depth)
    {
        var (aLocations, _) = PropertyLocations(a, name);
        var (bLocations, _) = PropertyLocations(b, name);
        var left = Expand(ReadAll(aLocations));
        var right = Expand(ReadAll(bLocations));
        return left.All(x => right.All(y => Disjoint(x, y, depth + 1)));
    }

    private SchemaInfo ReadAll(IReadOnlyList<SchemaLocation> locations)
    {
        var info = new SchemaInfo(locations.Count > 0 ? locations[0].Path : "#");
        foreach (SchemaLocation location in locations)
            info.Merge(reader.Read(location));
        return info;
    }
}
