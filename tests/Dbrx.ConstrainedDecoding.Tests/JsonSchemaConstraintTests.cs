using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Dbrx.Inference.Tokenization;
using Json.Schema;

namespace Dbrx.ConstrainedDecoding.Tests;

/// <summary>
/// The constraint driving a "model" that picks uniformly among the allowed tokens (the worst writer there is):
/// whatever it picks, the output must parse, validate against the schema (checked by JsonSchema.Net, an independent
/// validator, formats included) and end within the token budget.
/// </summary>
public sealed partial class JsonSchemaConstraintTests
{
    private static readonly DbrxTokenizer Tokenizer = DbrxTokenizer.Default;

    /// <summary>
    /// Schemas over most of what is enforced. Numbers are bounded: JsonSchema.Net reads numbers as decimal. Host names
    /// are checked by .NET below: JsonSchema.Net refuses single-label ones (such as "c"), which RFC 1123 allows.
    /// </summary>
    public static TheoryData<string> Schemas =>
    [
        """{"type":"object","properties":{"name":{"type":"string","minLength":1,"maxLength":8},"age":{"type":"integer","minimum":0,"maximum":150},"email":{"type":["string","null"],"format":"email"},"tags":{"type":"array","items":{"type":"string"},"maxItems":3,"minItems":1}},"required":["name","age"]}""",
        """{"type":"object","properties":{"when":{"type":"string","format":"date-time"},"day":{"type":"string","format":"date"},"id":{"type":"string","format":"uuid"},"kind":{"enum":["a","b",3,null,{"x":[1]}]},"ok":{"type":"boolean"},"link":{"type":"string","format":"uri"},"ip":{"type":"string","format":"ipv6"},"for":{"type":"string","format":"duration"}},"required":["when","day","id","kind","ok","link","ip","for"],"additionalProperties":false}""",
        """{"type":"object","properties":{"data":{"type":"array","items":{"type":"object","properties":{"x":{"type":"number","minimum":-1e6,"maximum":1e6},"y":{"type":"number","exclusiveMinimum":0,"maximum":1,"multipleOf":0.25}},"required":["x","y"]},"minItems":1,"maxItems":4}},"required":["data"]}""",
        """{"type":"object","additionalProperties":{"type":"integer","minimum":-5,"maximum":5},"propertyNames":{"pattern":"^[a-z]{1,3}$"},"maxProperties":4}""",
        """{"anyOf":[{"type":"object","properties":{"a":{"const":1}},"required":["a"]},{"type":"object","properties":{"b":{"type":"string","pattern":"^[A-Z][a-z]*[0-9]?$"}},"required":["b"],"additionalProperties":false}]}""",
        """{"$ref":"#/$defs/Node","$defs":{"Node":{"type":"object","properties":{"v":{"type":"integer","minimum":0,"maximum":9},"kids":{"type":"array","items":{"$ref":"#/$defs/Node"},"maxItems":2}},"required":["v","kids"],"additionalProperties":false}}}""",
        """{"type":"object","properties":{"shape":{"type":"string"},"l":{"type":"number","minimum":0,"maximum":10},"w":{"type":"number","minimum":0,"maximum":10},"r":{"type":"number","minimum":0,"maximum":10}},"required":["shape"],"oneOf":[{"required":["l","w"]},{"required":["r"]}],"additionalProperties":false}""",
        """{"type":"object","patternProperties":{"^x-":{"type":"boolean"}},"properties":{"v":{"type":"string","not":{"enum":["no","none"]}}},"required":["v"],"dependencies":{"v":["x-on"]},"additionalProperties":false}""",
        """{"type":"array","prefixItems":[{"type":"string","format":"ipv4"},{"type":"integer","minimum":1,"maximum":65535}],"items":false,"minItems":2}""",
        """{"type":"object","properties":{"text":{"type":"string","pattern":"^(\\S+\\s){0,3}\\S+$","maxLength":30},"code":{"type":"string","pattern":"^[0-9]{5}(-[0-9]{4})?$"}},"required":["text","code"]}""",
        """{"allOf":[{"type":"object","properties":{"a":{"type":"integer","minimum":0,"maximum":100}},"required":["a"]},{"properties":{"a":{"multipleOf":7},"b":{"type":"string","maxLength":2}}}]}""",
        """{"type":"object"}""",
    ];

    private static readonly EvaluationOptions Validation = new() { OutputFormat = OutputFormat.List, RequireFormatValidation = true };

    [Theory]
    [Trait("Category", "Slow")]
    [MemberData(nameof(Schemas))]
    public void Random_choices_always_give_valid_json_within_the_budget(string schemaText)
    {
        var schema = JsonSchema.FromText(schemaText);
        var grammar = Grammar(schemaText);
        int minimum = new JsonSchemaConstraint(grammar).MinimumTokens;
        foreach (int seed in new[] { 1, 2, 3, 4, 5 })
        {
            foreach (int budget in new[] { minimum, minimum + 3, minimum + 40, 300 })
            {
                var (text, used) = Generate(grammar, budget, seed);
                Assert.True(used <= budget, $"used {used} tokens of {budget}");
                if (Unbounded(schemaText))
                    continue;
                JsonNode? parsed = JsonNode.Parse(text);
                var result = schema.Evaluate(parsed, Validation);
                Assert.True(result.IsValid, $"seed {seed}, budget {budget}: {text}\n{string.Join("\n", result.Details.Where(d => d.Errors is not null).SelectMany(d => d.Errors!.Values))}");
            }
        }
    }

    /// <summary>A free-form object may hold numbers JsonSchema.Net cannot read; it is only parsed.</summary>
    private static bool Unbounded(string schema) => schema == """{"type":"object"}""";

    /// <summary>Numbers without bounds: any length, fractions and exponents, always valid JSON numbers of the right kind.</summary>
    [Theory]
    [InlineData("""{"type":"integer"}""", "^-?(0|[1-9][0-9]*)$")]
    [InlineData("""{"type":"number"}""", "^-?(0|[1-9][0-9]*)(\\.[0-9]+)?([eE][+-]?[0-9]+)?$")]
    public void Unbounded_numbers_are_well_formed(string schemaText, string shape)
    {
        var grammar = Grammar($$"""{"type":"array","items":{{schemaText}},"minItems":3}""");
        for (int seed = 0; seed < 10; seed++)
        {
            var array = JsonNode.Parse(Generate(grammar, 60, seed).Text)!.AsArray();
            Assert.All(array, n => Assert.Matches(shape, n!.ToJsonString()));
        }
    }

    [Theory]
    [Trait("Category", "Slow")]
    [InlineData("date-time")]
    [InlineData("date")]
    [InlineData("time")]
    [InlineData("uuid")]
    [InlineData("uri")]
    [InlineData("hostname")]
    [InlineData("ipv4")]
    [InlineData("ipv6")]
    public void Every_generated_format_value_parses_in_dotnet(string format)
    {
        var grammar = Grammar($$"""{"type":"string","format":"{{format}}"}""");
        for (int seed = 0; seed < 40; seed++)
        {
            string value = JsonSerializer.Deserialize<string>(Generate(grammar, 60, seed).Text)!;
            bool parses = format switch
            {
                "date-time" => JsonSerializer.Deserialize<DateTimeOffset>(JsonSerializer.Serialize(value)) != default && JsonSerializer.Deserialize<DateTime>(JsonSerializer.Serialize(value)) != default,
                "date" => JsonSerializer.Deserialize<DateOnly>(JsonSerializer.Serialize(value)) != default,
                // RFC 3339 full-time: a time of day with an offset.
                "time" => DateTimeOffset.TryParse("2000-01-01T" + value, CultureInfo.InvariantCulture, DateTimeStyles.None, out _),
                "uri" => JsonSerializer.Deserialize<Uri>(JsonSerializer.Serialize(value)) is { IsAbsoluteUri: true },
                "hostname" => Uri.CheckHostName(value) == UriHostNameType.Dns,
                "ipv4" => System.Net.IPAddress.TryParse(value, out var v4) && v4.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork,
                "ipv6" => System.Net.IPAddress.TryParse(value, out var v6) && v6.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6,
                _ => Guid.TryParse(value, out _),
            };
            Assert.True(parses, $"{format}: '{value}'");
        }
    }

    [Fact]
    public void A_budget_at_the_minimum_still_closes_the_document()
    {
        var grammar = Grammar("""{"type":"object","properties":{"name":{"type":"string"},"age":{"type":"integer"}},"required":["name","age"]}""");
        var constraint = new JsonSchemaConstraint(grammar);
        Assert.Equal(Tokenizer.Encode("""{"name":"","age":0}""").Length, constraint.MinimumTokens);
        for (int seed = 0; seed < 10; seed++)
        {
            var (text, used) = Generate(grammar, constraint.MinimumTokens, seed);
            Assert.True(used <= constraint.MinimumTokens);
            Assert.NotNull(JsonNode.Parse(text));
        }
    }

    [Fact]
    public void Inside_strings_most_of_the_vocabulary_is_allowed_and_structure_narrows_it()
    {
        var constraint = new JsonSchemaConstraint(Grammar("""{"type":"object","properties":{"text":{"type":"string"}},"required":["text"],"additionalProperties":false}"""));
        Assert.All(Allowed(constraint, 100), id => Assert.StartsWith("{", Decode(id)));
        foreach (int id in Tokenizer.Encode("""{"text":"hello"""))
            constraint.Accept(id);
        var inString = Allowed(constraint, 100);
        Assert.True(inString.Count > 90000, $"{inString.Count} tokens allowed inside a string");
        Assert.Contains(Tokenizer.Encode("\"}").Single(), inString);
        Assert.DoesNotContain(DbrxSpecialTokens.EndOfText, inString);
    }

    /// <summary>Masks equal a brute-force check of every token against the recognizer (an oracle that shares no mask code).</summary>
    [Theory]
    [InlineData("""{"type":"object","properties":{"a":{"type":"integer","minimum":3},"bb":{"type":"string","maxLength":4}},"required":["a"]}""", """{"a":1""")]
    [InlineData("""{"type":"object","properties":{"a":{"type":"integer","minimum":3},"bb":{"type":"string","maxLength":4}},"required":["a"]}""", """{"a":12,"bb":"x""")]
    [InlineData("""{"type":"object","properties":{"a":{"type":"integer","minimum":3},"bb":{"type":"string","maxLength":4}},"required":["a"]}""", """{"a":12,""")]
    [InlineData("""{"type":"array","items":{"type":"number"}}""", "[1.5e")]
    [InlineData("""{"type":"array","items":{"type":"number"}}""", "[1")]
    [InlineData("""{"type":"string","pattern":"^é+\\d$"}""", "\"éé")]
    [InlineData("""{"type":"object","patternProperties":{"^x":{"type":"null"}},"additionalProperties":{"type":"boolean"}}""", """{"x1":null,"y""")]
    public void Masks_equal_checking_every_token(string schemaText, string prefix)
    {
        var grammar = Grammar(schemaText);
        var constraint = new JsonSchemaConstraint(grammar);
        foreach (int id in Tokenizer.Encode(prefix))
            constraint.Accept(id);
        GrammarState state = grammar.Step(grammar.Start, Encoding.UTF8.GetBytes(prefix));
        var expected = Enumerable.Range(0, Tokenizer.VocabularySize).Where(id => Tokenizer.TokenBytes(id) is { IsEmpty: false } bytes && !grammar.Step(state, bytes).IsDead).ToList();
        Assert.Equal(expected, Allowed(constraint, 1000));
    }

    /// <summary>The completion the budget relies on has the length the grammar promised, from every state on the way.</summary>
    [Theory]
    [MemberData(nameof(Schemas))]
    public void Completions_are_as_long_as_promised_and_valid(string schemaText)
    {
        var grammar = Grammar(schemaText);
        for (int seed = 0; seed < 3; seed++)
        {
            var (text, _) = Generate(grammar, 300, seed);
            byte[] bytes = Encoding.UTF8.GetBytes(text);
            for (int i = 0; i <= bytes.Length; i++)
            {
                GrammarState state = grammar.Step(grammar.Start, bytes.AsSpan(0, i));
                var completion = new List<byte>();
                JsonMachine.AppendCompletion(state.ShortestStack, completion);
                Assert.Equal(state.CloseBytes, completion.Count);
                Assert.True(grammar.Step(state, completion.ToArray()).IsComplete, $"{Encoding.UTF8.GetString(bytes, 0, i)} + {Encoding.UTF8.GetString(completion.ToArray())}");
            }
        }
    }

    private static CompiledGrammar Grammar(string schema) => GrammarTesting.Compile(schema);

    private static (string Text, int Used) Generate(CompiledGrammar grammar, int budget, int seed)
    {
        var constraint = new JsonSchemaConstraint(grammar);
        var random = new Random(seed);
        var bytes = new List<byte>();
        int used = 0;
        while (!constraint.IsComplete)
        {
            Assert.True(used < budget, $"budget {budget} exhausted before the document closed: {Encoding.UTF8.GetString(bytes.ToArray())}");
            var allowed = Allowed(constraint, budget - used);
            Assert.NotEmpty(allowed);
            int pick = allowed[random.Next(allowed.Count)];
            constraint.Accept(pick);
            bytes.AddRange(Tokenizer.TokenBytes(pick).ToArray());
            used++;
        }
        return (Encoding.UTF8.GetString(bytes.ToArray()), used);
    }

    private static List<int> Allowed(JsonSchemaConstraint constraint, int remaining)
    {
        var mask = new ulong[(Tokenizer.VocabularySize + 63) / 64 + 1];
        constraint.FillAllowedTokens(mask, remaining);
        var ids = new List<int>();
        for (int id = 0; id < mask.Length * 64; id++)
        {
            if ((mask[id / 64] & (1UL << (id % 64))) != 0)
                ids.Add(id);
        }
        return ids;
    }

    private static string Decode(int id) => Encoding.UTF8.GetString(Tokenizer.TokenBytes(id));
}
