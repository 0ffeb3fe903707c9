using System.Runtime.CompilerServices;
using System.Text.Json;
using Dbrx.Inference.Generation;
using Dbrx.Inference.Tokenization;

namespace Dbrx.ConstrainedDecoding;

/// <summary>
/// Compiles JSON schemas into token constraints for one tokenizer, and keeps what it compiled for the requests that
/// follow: each schema's grammar with the recognizer states and token masks its requests have needed, and the automata
/// of patterns and numbers that schemas share. Everything kept fits in <see cref="JsonConstraintOptions.CacheBytes"/>
/// (least recently used first out), and each schema's compilation is bounded by the options' limits and stops when
/// its request is cancelled. Dbrx.Extensions.AI's chat client owns one; code that drives <see cref="DbrxGenerator"/>
/// directly creates its own (or uses <see cref="DbrxJsonConstraint.ForSchema"/>). Thread-safe.
/// </summary>
public sealed class JsonConstraintCompiler
{
    private static readonly ConditionalWeakTable<DbrxTokenizer, JsonConstraintCompiler> Defaults = new();

    private readonly ConstraintCache cache;
    private CompiledGrammar? sharedFrames;

    /// <summary>Creates a compiler with its own cache.</summary>
    /// <param name="tokenizer">The model's tokenizer.</param>
    /// <param name="options">Budgets (the defaults when null).</param>
    /// <exception cref="ArgumentException">An option is out of range (the message names it).</exception>
    public JsonConstraintCompiler(DbrxTokenizer tokenizer, JsonConstraintOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(tokenizer);
        Options = options ?? new JsonConstraintOptions();
        Options.Validate();
        Tokenizer = tokenizer;
        cache = new ConstraintCache(Options.CacheBytes, () => Volatile.Read(ref sharedFrames)?.EstimatedBytes ?? 0, () => Volatile.Write(ref sharedFrames, null));
    }

    /// <summary>The tokenizer the constraints are for.</summary>
    public DbrxTokenizer Tokenizer { get; }

    /// <summary>The budgets in effect.</summary>
    public JsonConstraintOptions Options { get; }

    /// <summary>What the cache holds and has done.</summary>
    public JsonConstraintCacheStatistics Statistics => cache.Statistics;

    /// <summary>The compiler <see cref="DbrxJsonConstraint.ForSchema"/> uses for a tokenizer: default budgets, one per tokenizer.</summary>
    internal static JsonConstraintCompiler Default(DbrxTokenizer tokenizer) => Defaults.GetValue(tokenizer, t => new JsonConstraintCompiler(t));

    /// <summary>The constraint that limits output to one compact JSON document valid against <paramref name="schema"/>.</summary>
    /// <param name="schema">A JSON Schema (drafts 4 to 2020-12).</param>
    /// <param name="allowUndeclaredProperties">
    /// Allow properties a schema does not declare where it does not forbid them (JSON Schema's default); false
    /// generates only declared properties in objects that declare some.
    /// </param>
    /// <param name="cancellationToken">Stops the compilation.</param>
    /// <returns>The compiled grammar: <see cref="JsonConstraint.Create"/> is the <see cref="DbrxGenerationOptions.ConstraintFactory"/>.</returns>
    /// <exception cref="JsonSchemaException">
    /// The schema is invalid, uses something that cannot be enforced, or needs more than the options allow to compile
    /// (the message names the keyword, its path and, for a limit, the option).
    /// </exception>
    /// <exception cref="OperationCanceledException">The compilation was cancelled.</exception>
    public JsonConstraint ForSchema(JsonElement schema, bool allowUndeclaredProperties = true, CancellationToken cancellationToken = default) =>
        new(Grammar($"schema:{allowUndeclaredProperties}:{schema.GetRawText()}", builder => builder.Schema(schema, allowUndeclaredProperties), cancellationToken));

    /// <summary>
    /// The constraint for documents that <paramref name="build"/> composes from schemas and other grammars (for
    /// example a tool-call envelope around each tool's parameter schema), cached under <paramref name="cacheKey"/>:
    /// the same key must always describe the same grammar.
    /// </summary>
    /// <param name="cacheKey">What identifies the grammar (every input <paramref name="build"/> reads).</param>
    /// <param name="build">Makes the grammar, on a cache miss, within one compilation's budget.</param>
    /// <param name="cancellationToken">Stops the compilation.</param>
    /// <exception cref="JsonSchemaException">A schema in it is invalid, cannot be enforced, or is over the budget; or no document satisfies the whole.</exception>
    /// <exception cref="OperationCanceledException">The compilation was cancelled.</exception>
    public JsonConstraint Compile(string cacheKey, Func<JsonGrammarBuilder, JsonGrammar> build, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(cacheKey);
        ArgumentNullException.ThrowIfNull(build);
        return new(Grammar("grammar:" + cacheKey, build, cancellationToken));
    }

    /// <summary>The grammar cached under <paramref name="key"/>, built on a miss within a fresh budget.</summary>
    private CompiledGrammar Grammar(string key, Func<JsonGrammarBuilder, JsonGrammar> build, CancellationToken cancellationToken) =>
        cache.GetOrAdd(
            new CacheKey(CacheKind.Grammar, key),
            () =>
            {
                var budget = new SchemaCompileBudget(Options, cancellationToken);
                GrammarNode root = build(new JsonGrammarBuilder(this, budget)).Node;
                GrammarLengths.Compute(root);
                if (!root.IsPossible)
                    throw new JsonSchemaException("schema", "#", "no finite JSON value satisfies it");
                // The automata the compilation built stay with the grammar; the key is held too.
                return new CompiledGrammar(root, Tokenizer, this, budget.Bytes + 2L * key.Length);
            },
            grammar => grammar.EstimatedBytes,
            grammar => grammar.IsOverLimit);

    /// <summary>A pattern's automaton, shared by every schema that uses the pattern.</summary>
    internal CharDfa Pattern(string pattern, SchemaCompileBudget budget) =>
        cache.GetOrAdd(new CacheKey(CacheKind.Pattern, pattern), () => CharDfa.FromRegex(RegexParser.Parse(pattern), budget), dfa => dfa.EstimatedBytes + 2L * pattern.Length);

    /// <summary>A number automaton, shared by every schema with the same number constraints.</summary>
    internal CharDfa Number(NumberSpec spec, SchemaCompileBudget budget) =>
        cache.GetOrAdd(new CacheKey(CacheKind.Number, spec), () => NumberAutomaton.Build(spec, budget), dfa => dfa.EstimatedBytes);

    /// <summary>A property name's JSON literal: one array per name, so key frames of the same name compare equal across grammars.</summary>
    internal byte[] Key(string name) =>
        cache.GetOrAdd(new CacheKey(CacheKind.Key, name), () => JsonText.Serialize(name), literal => literal.Length + 2L * name.Length + 64);

    /// <summary>A string node, shared by every schema whose strings have the same automaton and length bounds.</summary>
    internal StringNode StringNode(CharDfa? dfa, int minLength, int? maxLength, SchemaCompileBudget budget) =>
        dfa is not null
            ? dfa.SharedStringNode(minLength, maxLength, budget)
            : cache.GetOrAdd(new CacheKey(CacheKind.LengthsOnlyString, (minLength, maxLength)), () => new StringNode(null, minLength, maxLength, budget), _ => 64);

    /// <summary>
    /// The grammar that holds the local masks of the frames grammars share (strings, numbers, declared keys): built
    /// when first needed, and again after it outgrew <see cref="JsonConstraintOptions.MaxGrammarBytes"/> or was
    /// dropped to keep the cache within its budget.
    /// </summary>
    internal CompiledGrammar SharedFrames
    {
        get
        {
            CompiledGrammar? current = Volatile.Read(ref sharedFrames);
            if (current is { IsOverLimit: false })
                return current;
            var fresh = new CompiledGrammar(new LiteralNode(["null"u8.ToArray()]) { MinBytes = 4 }, Tokenizer, this, 0, sharesFrames: true);
            return Interlocked.CompareExchange(ref sharedFrames, fresh, current) == current ? fresh : Volatile.Read(ref sharedFrames) ?? fresh;
        }
    }

    /// <summary>
    /// Growth of a grammar worth measuring the cache again for: a 64th of its budget (between 4 KiB and 1 MiB), so
    /// what grammars in use learn between two measurements is a small part of the budget.
    /// </summary>
    internal long ReportGrowthEvery => Math.Clamp(Options.CacheBytes / 64, 4L << 10, 1L << 20);

    /// <summary>A grammar grew by a step worth measuring: measure the cache again (and trim it).</summary>
    internal void GrammarGrew() => cache.Refresh();
}
