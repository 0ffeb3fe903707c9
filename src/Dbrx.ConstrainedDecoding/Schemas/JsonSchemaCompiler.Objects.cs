using System.Text.Json;

namespace Dbrx.ConstrainedDecoding;

// Objects: the schemas a property's value must satisfy, the object node with its declared properties in declaration
// order, and whether undeclared keys may follow (their automaton is a KeyAutomaton).
internal sealed partial class JsonSchemaCompiler
{
    /// <summary>Whether an object satisfying the schema can never have the property.</summary>
    private bool Forbids(SchemaInfo info, string name) => info.Forbidden.Contains(name) || PropertyLocations(info, name).Forbidden;

    /// <summary>
    /// The schemas a property's value must satisfy: per object rule, its declaration and the patternProperties it
    /// matches, or else additionalProperties. Forbidden when a rule allows no such property.
    /// </summary>
    private (List<SchemaLocation> Locations, bool Forbidden) PropertyLocations(SchemaInfo info, string name)
    {
        var locations = new List<SchemaLocation>();
        bool forbidden = info.Forbidden.Contains(name);
        foreach (ObjectRule rule in info.ObjectRules)
        {
            bool declared = false;
            foreach (var (property, schema) in rule.Properties)
            {
                if (property == name)
                {
                    locations.Add(schema);
                    declared = true;
                }
            }
            bool matched = false;
            foreach (var (pattern, path, schema) in rule.PatternProperties)
            {
                if (Matches(Pattern(pattern, path), name))
                {
                    locations.Add(schema);
                    matched = true;
                }
            }
            if (declared || matched)
                continue;
            if (rule.AdditionalFalse)
                forbidden = true;
            else if (rule.Additional is { } additional)
                locations.Add(additional);
        }
        return (locations, forbidden);
    }

    private ObjectNode? BuildObject(SchemaInfo info)
    {
        var names = new List<string>();
        foreach (ObjectRule rule in info.ObjectRules)
            names.AddRange(rule.Properties.Select(p => p.Name).Where(n => !names.Contains(n)));
        // Required names that are not declared come after the declared ones.
        names.AddRange(info.Required.Where(n => !names.Contains(n)));
        var nameChecks = info.PropertyNames.Select(l => NameAutomaton(l)).ToList();
        if (nameChecks.Any(d => d is null))
            return info.Required.Count == 0 && info.MinProperties == 0 ? new ObjectNode([], 0, info.MaxProperties) : null;

        var properties = new List<ObjectProperty>();
        foreach (string name in names)
        {
            bool required = info.Required.Contains(name);
            var (locations, forbidden) = PropertyLocations(info, name);
            forbidden |= nameChecks.Any(d => !Matches(d!, name));
            if (forbidden && required)
                return null;
            GrammarNode value = forbidden ? new ChoiceNode() : NodeFor(locations);
            properties.Add(new ObjectProperty(name, shared.Key(name), value, required));
        }
        if (info.MinProperties > properties.Count)
            throw new JsonSchemaException("minProperties", info.Path, $"{info.MinProperties} properties need undeclared ones, which are not counted towards it (at most {properties.Count} are declared)");
        var node = new ObjectNode(properties, info.MinProperties, info.MaxProperties);
        if (ExtrasPossible(info, names.Count > 0))
        {
            // Undeclared keys are never a declared name (those take the declared schema) nor a forbidden one.
            var excluded = names.Concat(info.Forbidden).Distinct().ToList();
            var automaton = new KeyAutomaton(this, node, info.Path, info.ObjectRules, !undeclaredProperties && names.Count > 0, excluded, [.. nameChecks.Select(d => d!)]);
            keyAutomata.Add(automaton);
            node.ExtraKeys = automaton.Build(_ => true);
        }
        return node;
    }

    /// <summary>The automaton a property name must match (propertyNames); null when no name may be used.</summary>
    private CharDfa? NameAutomaton(SchemaLocation location)
    {
        var alternatives = Expand(reader.Read(location));
        var parts = new List<CharDfa>();
        foreach (SchemaInfo alternative in alternatives.Where(a => (a.Types & JsonTypes.String) != 0))
        {
            if (alternative.Values is { } values)
                parts.Add(Within("propertyNames", location.Path, () => CharDfa.Strings(values.Where(v => v.ValueKind == JsonValueKind.String).Select(v => v.GetString()!), budget)));
            else
                parts.Add(StringDfa(alternative, foldLengths: true) ?? Within("propertyNames", location.Path, () => CharDfa.Lengths(alternative.MinLength, alternative.MaxLength, budget)));
        }
        if (parts.Count == 0)
            return null;
        if (parts.Count > 1)
            throw new JsonSchemaException("propertyNames", location.Path, "alternatives (anyOf/oneOf) in propertyNames are not enforced");
        return parts[0].Start < 0 ? null : parts[0];
    }

    /// <summary>
    /// Whether an undeclared property may appear at all: not when a rule has additionalProperties false and no
    /// patternProperties, nor, with undeclared properties turned off, when no rule admits any explicitly (turning
    /// them off only affects objects that declare properties, so free-form objects and dictionaries keep working).
    /// </summary>
    private bool ExtrasPossible(SchemaInfo info, bool declaresProperties)
    {
        if (info.ObjectRules.Any(r => r.AdditionalFalse && r.PatternProperties.Count == 0))
            return false;
        return undeclaredProperties || !declaresProperties || info.ObjectRules.Any(r => r.Additional is not null || r.PatternProperties.Count > 0);
    }
}
