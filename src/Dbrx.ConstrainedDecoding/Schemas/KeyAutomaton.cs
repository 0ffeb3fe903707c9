namespace Dbrx.ConstrainedDecoding;

/// <summary>Builds (and if need be rebuilds) one object's undeclared-key automaton for <see cref="JsonSchemaCompiler"/>.</summary>
/// <remarks>
/// An undeclared key is accepted when it is no declared name, matches every propertyNames schema, and every
/// object rule admits it: through the patternProperties it matches (their schemas then apply), else through
/// additionalProperties (a schema, or nothing said, unless <paramref name="implicitOff"/>).
/// </remarks>
internal sealed class KeyAutomaton(JsonSchemaCompiler compiler, ObjectNode owner, string path, List<ObjectRule> rules, bool implicitOff, List<string> declared, List<CharDfa> nameChecks)
{
    /// <summary>Any string: the component that keeps the product running when every other one has dropped out.</summary>
    private static readonly CharDfa AnyString = CharDfa.Lengths(0, null, SchemaCompileBudget.Unlimited);

    private readonly Dictionary<string, GrammarNode> values = new(StringComparer.Ordinal);

    /// <summary>Where an error in the key rules is reported: the first patternProperties entry, else the object.</summary>
    private string RulesPath => rules.SelectMany(r => r.PatternProperties).Select(p => p.Path).FirstOrDefault() ?? path;

    public StringNode Build(Func<GrammarNode, bool> valueAllowed)
    {
        // Components: the declared names (to exclude them), any string (so the product runs on when every
        // other component has dropped out), propertyNames (required), each rule's patterns.
        var parts = new List<CharDfa> { CharDfa.Strings(declared, compiler.Budget), AnyString };
        var required = new List<bool> { false, true };
        parts.AddRange(nameChecks);
        required.AddRange(nameChecks.Select(_ => true));
        var patternIndex = new List<(ObjectRule Rule, int Component, SchemaLocation Schema)>();
        foreach (ObjectRule rule in rules)
        {
            foreach (var (pattern, path, schema) in rule.PatternProperties)
            {
                patternIndex.Add((rule, parts.Count, schema));
                parts.Add(compiler.Pattern(pattern, path));
                required.Add(false);
            }
        }
        List<SchemaLocation>? ValueLocations(int[] components)
        {
            if (components[0] >= 0 && parts[0].IsAccepting(components[0]))
                return null;
            for (int i = 2; i < 2 + nameChecks.Count; i++)
            {
                if (!parts[i].IsAccepting(components[i]))
                    return null;
            }
            var locations = new List<SchemaLocation>();
            foreach (ObjectRule rule in rules)
            {
                var matched = patternIndex.Where(p => p.Rule == rule && components[p.Component] >= 0 && parts[p.Component].IsAccepting(components[p.Component])).ToList();
                if (matched.Count > 0)
                    locations.AddRange(matched.Select(m => m.Schema));
                else if (rule.Additional is { } additional)
                    locations.Add(additional);
                else if (rule.AdditionalFalse || implicitOff)
                    return null;
            }
            return locations;
        }
        GrammarNode? ValueFor(int[] components)
        {
            if (ValueLocations(components) is not { } locations)
                return null;
            string key = string.Join("\n", locations.Select(l => l.Path).Order(StringComparer.Ordinal));
            if (!values.TryGetValue(key, out GrammarNode? value))
                values[key] = value = compiler.NodeFor(locations);
            return valueAllowed(value) ? value : null;
        }
        CharDfa dfa;
        try
        {
            dfa = JsonSchemaCompiler.Within("patternProperties", RulesPath, () => CharDfa.Product(parts, required, c => ValueFor(c) is not null, compiler.Budget));
        }
        catch (FormatException e)
        {
            throw new JsonSchemaException("patternProperties", RulesPath, $"the object's key rules together cannot be enforced: {e.Message}", e);
        }
        var keyValues = new GrammarNode?[dfa.StateCount];
        for (int s = 0; s < dfa.StateCount; s++)
        {
            if (dfa.IsAccepting(s))
                keyValues[s] = ValueFor(dfa.Components![s]);
        }
        return new StringNode(dfa) { KeyValues = keyValues };
    }

    /// <summary>Rebuilds the automaton without the keys whose value schema allows no value; true if it changed.</summary>
    public bool ExcludeImpossibleValues()
    {
        if (owner.ExtraKeys?.KeyValues is not { } keyValues || keyValues.All(v => v is null || v.IsPossible))
            return false;
        owner.ExtraKeys = Build(v => v.IsPossible);
        return true;
    }
}
