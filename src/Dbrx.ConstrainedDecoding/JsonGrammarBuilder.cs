using System.Text.Json;

namespace Dbrx.ConstrainedDecoding;

/// <summary>
/// Makes the grammars of one compilation (<see cref="JsonConstraintCompiler.Compile"/>): from JSON schemas, and composed
/// of them, for documents no single schema describes as compactly (a tool-call envelope around each tool's own
/// parameter schema). Everything it builds counts against the compilation's budget and shares the compiler's automata.
/// </summary>
public sealed class JsonGrammarBuilder
{
    private readonly JsonConstraintCompiler compiler;
    private readonly SchemaCompileBudget budget;

    internal JsonGrammarBuilder(JsonConstraintCompiler compiler, SchemaCompileBudget budget)
    {
        this.compiler = compiler;
        this.budget = budget;
    }

    /// <summary>The compact JSON documents valid against a schema (drafts 4 to 2020-12).</summary>
    /// <param name="schema">The schema.</param>
    /// <param name="allowUndeclaredProperties">Allow properties a schema does not declare where it does not forbid them (JSON Schema's default).</param>
    /// <exception cref="JsonSchemaException">The schema is invalid, cannot be enforced, or is over the compilation's budget.</exception>
    public JsonGrammar Schema(JsonElement schema, bool allowUndeclaredProperties = true) =>
        new(JsonSchemaCompiler.Compile(schema, allowUndeclaredProperties, compiler, budget));

    /// <summary>Exactly one JSON value, written compactly.</summary>
    public JsonGrammar Value(JsonElement value) => new(new LiteralNode([JsonText.Serialize(value)]));

    /// <summary>One document of any of the grammars.</summary>
    public JsonGrammar AnyOf(params IEnumerable<JsonGrammar> alternatives)
    {
        ArgumentNullException.ThrowIfNull(alternatives);
        var choice = new ChoiceNode();
        choice.Options.AddRange(alternatives.Select(a => a.Node));
        return new JsonGrammar(choice);
    }

    /// <summary>An object of exactly these properties, all required, written in this order, and no others.</summary>
    public JsonGrammar Object(params IEnumerable<(string Name, JsonGrammar Value)> properties)
    {
        ArgumentNullException.ThrowIfNull(properties);
        return new JsonGrammar(new ObjectNode(
            [.. properties.Select(p => new ObjectProperty(p.Name, compiler.Key(p.Name), p.Value.Node, Required: true))], 0, null));
    }

    /// <summary>An array of <paramref name="minItems"/> to <paramref name="maxItems"/> (null: any number of) items.</summary>
    public JsonGrammar Array(JsonGrammar items, int minItems = 0, int? maxItems = null)
    {
        ArgumentNullException.ThrowIfNull(items);
        ArgumentOutOfRangeException.ThrowIfNegative(minItems);
        if (maxItems < minItems)
            throw new ArgumentOutOfRangeException(nameof(maxItems), maxItems, $"maxItems must be at least minItems ({minItems}).");
        return new JsonGrammar(new ArrayNode([], items.Node, minItems, maxItems));
    }
}
