using System.Text;
using System.Text.Json;
using Dbrx.Inference.Tokenization;

namespace Dbrx.ConstrainedDecoding.Tests;

/// <summary>Compiles schemas and feeds text through the recognizer, for the grammar tests.</summary>
internal static class GrammarTesting
{
    /// <summary>Where the tests' grammars share automata and frame masks from, with the default budgets.</summary>
    public static readonly JsonConstraintCompiler Compiler = new(DbrxTokenizer.Default);

    /// <summary>A fresh grammar (not from the compiler's cache) of a schema.</summary>
    public static CompiledGrammar Compile(string schema, bool undeclaredProperties = true)
    {
        var budget = new SchemaCompileBudget(Compiler.Options, CancellationToken.None);
        return new(JsonSchemaCompiler.Compile(JsonDocument.Parse(schema).RootElement, undeclaredProperties, Compiler, budget), DbrxTokenizer.Default, Compiler);
    }

    /// <summary>Feeds the text byte by byte; true when it is a complete document the schema allows.</summary>
    public static bool Accepts(CompiledGrammar grammar, string text)
    {
        GrammarState state = grammar.Step(grammar.Start, Encoding.UTF8.GetBytes(text));
        return !state.IsDead && state.IsComplete;
    }

    public static bool Accepts(string schema, string text) => Accepts(Compile(schema), text);

    /// <summary>The shortest completion from the state the text leads to.</summary>
    public static string Completion(CompiledGrammar grammar, string prefix)
    {
        GrammarState state = grammar.Step(grammar.Start, Encoding.UTF8.GetBytes(prefix));
        var bytes = new List<byte>();
        JsonMachine.AppendCompletion(state.ShortestStack, bytes);
        return Encoding.UTF8.GetString([.. bytes]);
    }
}
