using System.Text;
using System.Text.Json;
using Dbrx.Inference.Tokenization;

namespace Dbrx.ConstrainedDecoding.Tests;

/// <summary>
/// A schema is a client's input: what compiling one costs is bounded (states, memory, time) and stops with its
/// request, and what the compiler keeps between requests stays within its budget however many distinct schemas
/// arrive. Assertions are on what was refused, counted and kept, never on how long anything took.
/// </summary>
public sealed class JsonConstraintCompilerTests
{
    private static JsonElement Parse(string json) => JsonDocument.Parse(json).RootElement;

    /// <summary>A pattern whose automaton needs 2^(n+1) states: the n-th character from the end is an 'a'.</summary>
    private static string Exponential(int n, string tail = "") => $"^(a|b)*a(a|b){{{n}}}{tail}$";

    [Fact]
    public void A_pattern_that_needs_too_many_states_is_refused_naming_the_limit_and_its_path()
    {
        var compiler = new JsonConstraintCompiler(DbrxTokenizer.Default, new JsonConstraintOptions { MaxSchemaStates = 20_000 });
        var schema = Parse("""{"type":"object","properties":{"code":{"type":"string","pattern":""" + $"\"{Exponential(16)}\"" + "}}}");
        var error = Assert.Throws<JsonSchemaException>(() => compiler.ForSchema(schema));
        Assert.Equal("pattern", error.Keyword);
        Assert.Equal("#/properties/code/pattern", error.SchemaPath);
        Assert.Contains("MaxSchemaStates", error.Message, StringComparison.Ordinal);
        Assert.Contains("20,000", error.Message, StringComparison.Ordinal);
    }

    /// <summary>The limit is on the schema, not on one automaton: many patterns that each fit add up.</summary>
    [Fact]
    public void Patterns_that_each_fit_are_refused_together_at_the_one_that_crosses_the_limit()
    {
        var compiler = new JsonConstraintCompiler(DbrxTokenizer.Default, new JsonConstraintOptions { MaxSchemaStates = 20_000 });
        var properties = Enumerable.Range(0, 40).Select(i => $"\"p{i}\":{{\"type\":\"string\",\"pattern\":\"{Exponential(10, "x" + i)}\"}}");
        var schema = Parse($$$"""{"type":"object","properties":{{{{string.Join(",", properties)}}}}}""");
        var error = Assert.Throws<JsonSchemaException>(() => compiler.ForSchema(schema));
        Assert.Equal("pattern", error.Keyword);
        Assert.Matches("^#/properties/p[0-9]+/pattern$", error.SchemaPath);
        Assert.NotEqual("#/properties/p0/pattern", error.SchemaPath);
        Assert.Contains("MaxSchemaStates", error.Message, StringComparison.Ordinal);
        // The compiler keeps working.
        Assert.NotNull(compiler.ForSchema(Parse("""{"type":"object","properties":{"a":{"type":"string","pattern":"^[a-z]+$"}}}""")));
    }

    [Fact]
    public void A_table_of_lengths_beyond_the_memory_limit_is_refused_naming_the_limit()
    {
        var compiler = new JsonConstraintCompiler(DbrxTokenizer.Default, new JsonConstraintOptions { MaxSchemaBytes = 1 << 20 });
        // 2,000 automaton states times 100,000 lengths: far more than 1 MiB of table.
        var schema = Parse($$$"""{"type":"string","pattern":"{{{Exponential(10)}}}","maxLength":100000}""");
        var error = Assert.Throws<JsonSchemaException>(() => compiler.ForSchema(schema));
        Assert.Contains("MaxSchemaBytes", error.Message, StringComparison.Ordinal);
        Assert.Equal("#/pattern", error.SchemaPath);
    }

    [Fact]
    public void A_compilation_over_its_time_is_refused_naming_the_limit()
    {
        var compiler = new JsonConstraintCompiler(DbrxTokenizer.Default, new JsonConstraintOptions { MaxSchemaStates = 10_000_000, MaxSchemaCompileTime = TimeSpan.FromTicks(1) });
        var schema = Parse($$$"""{"type":"string","pattern":"{{{Exponential(14)}}}"}""");
        var error = Assert.Throws<JsonSchemaException>(() => compiler.ForSchema(schema));
        Assert.Contains("MaxSchemaCompileTime", error.Message, StringComparison.Ordinal);
        Assert.Equal("pattern", error.Keyword);
    }

    [Fact]
    public void A_cancelled_request_stops_its_compilation()
    {
        var compiler = new JsonConstraintCompiler(DbrxTokenizer.Default, new JsonConstraintOptions { MaxSchemaStates = 100_000_000, MaxSchemaBytes = 1L << 40, MaxSchemaCompileTime = TimeSpan.FromHours(1) });
        // Hundreds of thousands of states: minutes of work, unless the cancellation is observed.
        var properties = Enumerable.Range(0, 60).Select(i => $"\"p{i}\":{{\"type\":\"string\",\"pattern\":\"{Exponential(14, "x" + i)}\"}}");
        var schema = Parse($$$"""{"type":"object","properties":{{{{string.Join(",", properties)}}}}}""");
        using var cancellation = new CancellationTokenSource();
        var compiling = Task.Run(() => compiler.ForSchema(schema, cancellationToken: cancellation.Token), TestContext.Current.CancellationToken);
        // Cancelled once the compilation is under way: the schema and its first pattern were looked up and missed.
        Assert.True(SpinWait.SpinUntil(() => compiler.Statistics.Misses >= 2, TimeSpan.FromMinutes(2)), "the compilation did not start");
        cancellation.Cancel();
        Assert.ThrowsAny<OperationCanceledException>(() => compiling.GetAwaiter().GetResult());
        // Cancelled before it starts: nothing is compiled at all.
        Assert.ThrowsAny<OperationCanceledException>(() => compiler.ForSchema(Parse("""{"type":"string"}"""), cancellationToken: cancellation.Token));
    }

    /// <summary>
    /// Hundreds of distinct large schemas, accepted and refused: the cache never holds more than its budget, evicts the
    /// least recently used, and still answers a repeated schema from the cache.
    /// </summary>
    [Fact]
    public void Distinct_schemas_keep_the_cache_within_its_budget()
    {
        const long budget = 4L << 20;
        var compiler = new JsonConstraintCompiler(DbrxTokenizer.Default, new JsonConstraintOptions { CacheBytes = budget });
        string description = new('d', 40_000);
        for (int i = 0; i < 300; i++)
        {
            string pattern = $"^[a-z]{{{i % 9 + 1}}}-{i}-(x|y){{1,{i % 7 + 2}}}$";
            var schema = Parse($$$"""{"type":"object","description":"{{{description}}}{{{i}}}","properties":{"id":{"type":"string","pattern":"{{{pattern}}}"},"n":{"type":"integer","minimum":{{{i}}}}},"required":["id","n"]}""");
            if (i % 3 == 0)
            {
                // Refused (an unsupported keyword).
                var refused = Parse($$$"""{"type":"object","description":"{{{description}}}{{{i}}}","properties":{"id":{"type":"string","pattern":"{{{pattern}}}x"}},"unevaluatedProperties":false}""");
                Assert.Throws<JsonSchemaException>(() => compiler.ForSchema(refused));
            }
            compiler.ForSchema(schema);
            Assert.InRange(compiler.Statistics.Bytes, 0, budget);
        }
        var before = compiler.Statistics;
        Assert.True(before.Evictions > 100, $"{before}");
        var recent = Parse($$$"""{"type":"object","description":"{{{description}}}299","properties":{"id":{"type":"string","pattern":"^[a-z]{3}-299-(x|y){1,7}$"},"n":{"type":"integer","minimum":299}},"required":["id","n"]}""");
        compiler.ForSchema(recent);
        Assert.Equal(before.Hits + 1, compiler.Statistics.Hits);
        Assert.Equal(before.Misses, compiler.Statistics.Misses);
    }

    /// <summary>
    /// A grammar learns states and masks while requests use it; past its own limit it keeps nothing more, still
    /// answers correctly, and the cache replaces it for the next request.
    /// </summary>
    [Fact]
    public void A_grammar_in_use_stays_within_its_limit_and_the_cache_within_its_budget()
    {
        var compiler = new JsonConstraintCompiler(DbrxTokenizer.Default, new JsonConstraintOptions { CacheBytes = 8L << 20, MaxGrammarBytes = 1L << 20 });
        // Every position of the string is a state of its own, each with masks of its own.
        var schema = Parse("""{"type":"object","properties":{"text":{"type":"string","pattern":"^[a-z ]+$","maxLength":400}},"required":["text"],"additionalProperties":false}""");
        var tokenizer = DbrxTokenizer.Default;
        var random = new Random(5);
        var mask = new ulong[(tokenizer.VocabularySize + 63) / 64];
        for (int request = 0; request < 3; request++)
        {
            var constraint = compiler.ForSchema(schema).Create();
            var written = new StringBuilder();
            for (int step = 0; step < 300 && !constraint.IsComplete; step++)
            {
                constraint.FillAllowedTokens(mask, 400 - step);
                var allowed = Enumerable.Range(0, tokenizer.VocabularySize).Where(id => (mask[id >> 6] & (1UL << (id & 63))) != 0).ToList();
                Assert.NotEmpty(allowed);
                int token = allowed[random.Next(allowed.Count)];
                constraint.Accept(token);
                written.Append(tokenizer.Decode([token]));
                Assert.InRange(compiler.Statistics.Bytes, 0, 8L << 20);
            }
            // What was written so far is still a prefix of a valid document.
            Assert.StartsWith("{\"text\":\"", written.ToString(), StringComparison.Ordinal);
            Assert.Matches("^\\{\"text\":\"[a-z ]*(\"\\})?$", written.ToString());
        }
    }
}
