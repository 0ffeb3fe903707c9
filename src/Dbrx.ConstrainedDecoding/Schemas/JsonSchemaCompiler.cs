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
internal sealed partial class JsonSchemaCompiler
{
    /// <summary>Alternatives one schema may expand into (anyOf inside anyOf multiplies).</summary>
    public const int MaxAlternatives = 256;

    private readonly SchemaReader reader;
    private readonly bool undeclaredProperties;
    private readonly JsonConstraintCompiler shared;
    private readonly SchemaCompileBudget budget;
    private readonly Dictionary<string, ChoiceNode> nodes = new(StringComparer.Ordinal);
    private readonly List<KeyAutomaton> keyAutomata = [];

    /// <summary>What the compilation may spend (the key automata it builds count against it too).</summary>
    internal SchemaCompileBudget Budget => budget;

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
    internal ChoiceNode NodeFor(IReadOnlyList<SchemaLocation> locations)
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
    internal CharDfa Pattern(string pattern, string path, string keyword = "pattern")
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
    internal static T Within<T>(string keyword, string path, Func<T> build)
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
}
