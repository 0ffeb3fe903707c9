using System.Collections.Concurrent;
using Dbrx.Inference.Tokenization;

namespace Dbrx.Extensions.AI.ConstrainedDecoding;

/// <summary>
/// Compiled grammars shared across requests, keyed by tokenizer and schema text (with the options that shape them),
/// so a schema is compiled once and its states and masks are reused by every later request. At most
/// <see cref="Capacity"/> grammars are kept; past that the cache starts over.
/// </summary>
internal static class JsonGrammarCache
{
    public const int Capacity = 64;

    private static readonly ConcurrentDictionary<(DbrxTokenizer, string), Lazy<CompiledGrammar>> Grammars = new();

    /// <summary>The grammar for <paramref name="key"/>, compiled by <paramref name="compile"/> on first use.</summary>
    /// <exception cref="JsonSchemaException">The schema cannot be enforced (not cached, so the error repeats).</exception>
    public static CompiledGrammar Get(DbrxTokenizer tokenizer, string key, Func<GrammarNode> compile)
    {
        if (Grammars.Count >= Capacity)
            Grammars.Clear();
        var entry = Grammars.GetOrAdd((tokenizer, key), _ => new Lazy<CompiledGrammar>(() => new CompiledGrammar(compile(), tokenizer)));
        try
        {
            return entry.Value;
        }
        catch
        {
            Grammars.TryRemove(new KeyValuePair<(DbrxTokenizer, string), Lazy<CompiledGrammar>>((tokenizer, key), entry));
            throw;
        }
    }
}
