using System.Numerics;
using System.Text.Json;

namespace Dbrx.ConstrainedDecoding;

/// <summary>
/// Compiles a JSON Schema into <see cref="GrammarNode"/>s that accept exactly the compact JSON texts of the values
/// it allows (with properties in declaration order). allOf and $ref are merged keyword by keyword, anyOf and oneOf
/// expanded into alternatives (oneOf only where its alternatives provably exclude each other, or can be made to by
/// ruling out properties), types split into one node each. What cannot be enforced exactly fails with a
/// <see cref="JsonSchemaException"/> that names the keyword and its path; nothing is silently dropped. So does a
/// schema that needs more than its <see cref="SchemaCompileBudget"/>. Automata of patterns and numbers, key literals
/// and string and number nodes come from the <see cref="JsonConstraintCompiler"/> the schema is compiled for, so they
/// are shared by its schemas (and their token masks computed once).
/// </summary>
internal sealed class JsonSchemaCompiler
{
    /// <summary>Alternatives one schema may expand into (anyOf inside anyOf multiplies).</summary>
    public const int MaxAlternatives = 256;

    private static readonly CharDfa AnyString = CharDfa.Lengths(0, null, SchemaCompileBudget.Unlimited);

    private readonly SchemaReader reader;
    private readonly bool undeclaredProperties;
    private readonly JsonConstraintCompiler shared;
    private readonly SchemaCompileBudget budget;
    private readonly Dictionary<string, ChoiceNode> nodes = new(StringComparer.Ordinal);
    private readonly List<KeyAutomaton> keyAutomata = [];

    private JsonSchemaCompiler(JsonElement schema, bool undeclaredProperties, JsonConstraintCompiler shared, SchemaCompileBudget budget)
    {
        reader = new SchemaReader(schema);
        this.undeclaredProperties = undeclaredProperties;
        this.shared = shared;
        this.budget = budget;
    }

    /// <summary>Compiles a schema.</summary>
    /// <param name="schema">The schema.</param>
    /// <param name="undeclaredProperties">
    /// Allow properties a schema does not declare where it does not forbid them (JSON Schema's default). False
    /// writes declared properties only, in objects that declare some.
    /// </param>
    /// <param name="shared">Where automata, key literals and string and number nodes are shared from.</param>
    /// <param name="budget">What the compilation may spend.</param>
    /// <exception cref="JsonSchemaException">The schema is invalid, cannot be enforced, or needs more than the budget.</exception>
    /// <exception cref="OperationCanceledException">The budget's cancellation token was cancelled.</exception>
    public static GrammarNode Compile(JsonElement schema, bool undeclaredProperties, JsonConstraintCompiler shared, SchemaCompileBudget budget)
    {
        var compiler = new JsonSchemaCompiler(schema, undeclaredProperties, shared, budget);
        GrammarNode root = compiler.NodeFor([compiler.reader.Root]);
        compiler.Finish(root);
        if (!root.IsPossible)
            throw new JsonSchemaException("schema", "#", "no finite JSON value satisfies it");
        return root;
    }

    /// <summary>
    /// The node for values that satisfy every schema in <paramref name="locations"/> (none: any value). Nodes are
    /// shared by the schemas they stand for, which is how recursive schemas become finite graphs.
    /// </summary>
    private ChoiceNode NodeFor(IReadOnlyList<SchemaLocation> locations)
    {
        string key = string.Join("\n", locations.Select(reader.Canonical).Distinct().Order(StringComparer.Ordinal));
        if (nodes.TryGetValue(key, out ChoiceNode? known))
            return known;
        var node = new ChoiceNode();
        nodes[key] = node;
        var info = new SchemaInfo(locations.Count > 0 ? locations[0].Path : "#");
        foreach (SchemaLocation location in locations)
            info.Merge(reader.Read(location));
        return Within("schema", info.Path, () =>
        {
            foreach (SchemaInfo alternative in Expand(info))
                node.Options.AddRange(Build(alternative));
            return node;
        });
    }

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

    private static bool Matches(CharDfa dfa, string text)
    {
        int state = dfa.Start;
        foreach (int c in RegexNode.EnumerateCodePoints(text))
        {
            if (state < 0)
                return false;
            state = dfa.Step(state, c);
        }
        return state >= 0 && dfa.IsAccepting(state);
    }

    /// <summary>A pattern's automaton (shared between schemas: patterns repeat); a format's is its pattern's.</summary>
    private CharDfa Pattern(string pattern, string path, string keyword = "pattern")
    {
        try
        {
            return Within(keyword, path, () => shared.Pattern(pattern, budget));
        }
        catch (FormatException e)
        {
            throw new JsonSchemaException(keyword, path, $"'{pattern}' cannot be enforced: {e.Message}", e);
        }
    }

    /// <summary>
    /// Runs part of the compilation, naming <paramref name="keyword"/> at <paramref name="path"/> if it runs out of
    /// the budget (the innermost such part names it).
    /// </summary>
    private static T Within<T>(string keyword, string path, Func<T> build)
    {
        try
        {
            return build();
        }
        catch (SchemaBudgetExceededException e)
        {
            throw new JsonSchemaException(keyword, path, e.Message, e);
        }
    }

    /// <summary>One node per type the alternative allows (or one for its enum/const values).</summary>
    private IEnumerable<GrammarNode> Build(SchemaInfo info)
    {
        if (info.Unsatisfiable)
            return [];
        if (info.Values is { } values)
        {
            var allowed = values.Where(v => JsonValues.HasAllowedType(v, info.Types) && Satisfies(v, info) && !info.ExcludedValues.Any(x => JsonValues.Equal(v, x)))
                .Select(JsonText.Serialize).ToList();
            return allowed.Count == 0 ? [] : [new LiteralNode(allowed)];
        }
        var result = new List<GrammarNode>();
        var literals = new List<byte[]>();
        JsonTypes types = info.Types;
        if ((types & JsonTypes.Null) != 0)
            literals.Add("null"u8.ToArray());
        if ((types & JsonTypes.Boolean) != 0)
            literals.AddRange(["true"u8.ToArray(), "false"u8.ToArray()]);
        literals.RemoveAll(l => info.ExcludedValues.Any(x => JsonText.Serialize(x).AsSpan().SequenceEqual(l)));
        if (literals.Count > 0)
            result.Add(new LiteralNode(literals));
        if ((types & JsonTypes.String) != 0 && BuildString(info) is { } text)
            result.Add(text);
        if ((types & JsonTypes.Integer) != 0 && BuildNumber(info) is { } number)
            result.Add(number);
        if ((types & JsonTypes.Object) != 0 && BuildObject(info) is { } obj)
            result.Add(obj);
        if ((types & JsonTypes.Array) != 0 && BuildArray(info) is { } array)
            result.Add(array);
        return result;
    }

    /// <summary>Whether an enum or const value meets the schema's string and number keywords.</summary>
    private bool Satisfies(JsonElement value, SchemaInfo info)
    {
        switch (value.ValueKind)
        {
            case JsonValueKind.String:
                string text = value.GetString()!;
                int length = CountCodePoints(text);
                return length >= info.MinLength && length <= (info.MaxLength ?? int.MaxValue) && (StringDfa(info, foldLengths: false) is not { } dfa || Matches(dfa, text));
            case JsonValueKind.Number:
                return BuildNumber(info) is not { } number || Matches(number.Dfa, value.GetRawText());
            default:
                return true;
        }
    }

    private static int CountCodePoints(string text) => RegexNode.EnumerateCodePoints(text).Count();

    private StringNode? BuildString(SchemaInfo info)
    {
        if (info.MaxLength < info.MinLength)
            return null;
        CharDfa? dfa = StringDfa(info, foldLengths: false);
        if (dfa is { Start: < 0 })
            return null;
        string where = info.Patterns.Count > 0 ? info.Patterns[0].Path : info.Path;
        var node = Within(info.MaxLength is not null ? "maxLength" : "minLength", where, () => shared.StringNode(dfa, info.MinLength, info.MaxLength, budget));
        return node.Lengths is { } lengths && !lengths.Viable(dfa!.Start, 0) ? null : node;
    }

    /// <summary>
    /// The automaton of a string's patterns, format and exclusions (and, when <paramref name="foldLengths"/>, its
    /// length bounds); null when nothing but lengths constrains it.
    /// </summary>
    private CharDfa? StringDfa(SchemaInfo info, bool foldLengths)
    {
        var parts = new List<CharDfa>();
        foreach (var (pattern, path, negated) in info.Patterns)
            parts.Add(negated ? Within("not", path, () => CharDfa.Complement(Pattern(pattern, path), budget)) : Pattern(pattern, path));
        foreach (var (format, path) in info.Formats)
            parts.Add(Pattern(StringFormats.Pattern(format)!, path, "format"));
        string keyword = info.Patterns.Count > 0 ? "pattern" : info.Formats.Count > 0 ? "format" : "maxLength";
        string where = info.Patterns.Count > 0 ? info.Patterns[0].Path : info.Formats.Count > 0 ? info.Formats[0].Path : info.Path;
        var excluded = info.ExcludedValues.Where(v => v.ValueKind == JsonValueKind.String).Select(v => v.GetString()!).ToList();
        if (excluded.Count > 0)
            parts.Add(Within("not", info.Path, () => CharDfa.Complement(CharDfa.Strings(excluded, budget), budget)));
        if (parts.Count == 0)
            return null;
        try
        {
            return Within(keyword, where, () =>
            {
                if (foldLengths && (info.MinLength > 0 || info.MaxLength is not null))
                    parts.Add(CharDfa.Lengths(info.MinLength, info.MaxLength, budget));
                return CharDfa.Intersect(parts, budget);
            });
        }
        catch (FormatException e)
        {
            throw new JsonSchemaException(keyword, where, $"the string's patterns, format and length together cannot be enforced: {e.Message}", e);
        }
    }

    private NumberNode? BuildNumber(SchemaInfo info)
    {
        DecimalNumber? multiple = null;
        foreach (var (value, path) in info.MultipleOf)
        {
            if (multiple is null || multiple.CompareTo(value) == 0)
            {
                multiple = value;
            }
            else if (multiple.Fraction.Length == 0 && value.Fraction.Length == 0)
            {
                BigInteger a = multiple.ScaledMagnitude, b = value.ScaledMagnitude;
                multiple = DecimalNumber.Parse((a / BigInteger.GreatestCommonDivisor(a, b) * b).ToString(System.Globalization.CultureInfo.InvariantCulture));
            }
            else
            {
                throw new JsonSchemaException("multipleOf", path, "several fractional multipleOf values together are not enforced");
            }
        }
        var spec = new NumberSpec((info.Types & JsonTypes.NonInteger) == 0, info.Minimum, info.MinimumExclusive, info.Maximum, info.MaximumExclusive, multiple);
        CharDfa dfa;
        try
        {
            string where = info.MultipleOf.Count > 0 ? info.MultipleOf[0].Path : info.Path;
            dfa = Within(info.MultipleOf.Count > 0 ? "multipleOf" : "type", where, () => shared.Number(spec, budget));
        }
        catch (FormatException e)
        {
            throw new JsonSchemaException("multipleOf", info.MultipleOf.Count > 0 ? info.MultipleOf[0].Path : info.Path, $"cannot be enforced: {e.Message}", e);
        }
        return dfa.Start < 0 ? null : dfa.NumberNode;
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

    private ArrayNode? BuildArray(SchemaInfo info)
    {
        if (info.UniqueItemsPath is { } unique && info.MaxItems is not (<= 1))
            throw new JsonSchemaException("uniqueItems", unique, "unique items are not enforced");
        int prefixLength = info.ArrayRules.Select(r => r.Prefix.Count).DefaultIfEmpty(0).Max();
        GrammarNode? ItemAt(int index)
        {
            var locations = new List<SchemaLocation>();
            foreach (ArrayRule rule in info.ArrayRules)
            {
                if (index < rule.Prefix.Count)
                    locations.Add(rule.Prefix[index]);
                else if (rule.ItemsFalse)
                    return null;
                else if (rule.Items is { } items)
                    locations.Add(items);
            }
            return NodeFor(locations);
        }
        var prefix = new List<GrammarNode>();
        for (int i = 0; i < prefixLength; i++)
            prefix.Add(ItemAt(i) ?? new ChoiceNode());
        return new ArrayNode(prefix, ItemAt(prefixLength), info.MinItems, info.MaxItems);
    }

    /// <summary>Computes lengths, then narrows key automata so no key leads to a value that cannot be written.</summary>
    private void Finish(GrammarNode root)
    {
        GrammarLengths.Compute(root);
        bool rebuilt = false;
        foreach (KeyAutomaton automaton in keyAutomata)
            rebuilt |= automaton.ExcludeImpossibleValues();
        if (rebuilt)
            GrammarLengths.Compute(root);
    }

    /// <summary>Builds (and if need be rebuilds) one object's undeclared-key automaton.</summary>
    /// <remarks>
    /// An undeclared key is accepted when it is no declared name, matches every propertyNames schema, and every
    /// object rule admits it: through the patternProperties it matches (their schemas then apply), else through
    /// additionalProperties (a schema, or nothing said, unless <paramref name="implicitOff"/>).
    /// </remarks>
    private sealed class KeyAutomaton(JsonSchemaCompiler compiler, ObjectNode owner, string path, List<ObjectRule> rules, bool implicitOff, List<string> declared, List<CharDfa> nameChecks)
    {
        private readonly Dictionary<string, GrammarNode> values = new(StringComparer.Ordinal);

        /// <summary>Where an error in the key rules is reported: the first patternProperties entry, else the object.</summary>
        private string RulesPath => rules.SelectMany(r => r.PatternProperties).Select(p => p.Path).FirstOrDefault() ?? path;

        public StringNode Build(Func<GrammarNode, bool> valueAllowed)
        {
            // Components: the declared names (to exclude them), any string (so the product runs on when every
            // other component has dropped out), propertyNames (required), each rule's patterns.
            var parts = new List<CharDfa> { CharDfa.Strings(declared, compiler.budget), AnyString };
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
                dfa = Within("patternProperties", RulesPath, () => CharDfa.Product(parts, required, c => ValueFor(c) is not null, compiler.budget));
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
}
