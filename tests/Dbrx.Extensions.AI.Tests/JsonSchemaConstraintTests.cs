using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Dbrx.Extensions.AI.ConstrainedDecoding;
using Dbrx.Inference.Tokenization;
using Json.Schema;

namespace Dbrx.Extensions.AI.Tests;

/// <summary>
/// The constraint driving a "model" that picks uniformly among the allowed tokens (the worst writer there is):
/// whatever it picks, the output must parse, validate against the schema (checked by JsonSchema.Net, an independent
/// validator) and end within the token budget.
/// </summary>
public sealed class JsonSchemaConstraintTests
{
    private static readonly DbrxTokenizer Tokenizer = DbrxTokenizer.Default;

    public static TheoryData<string> Schemas =>
    [
        """{"type":"object","properties":{"name":{"type":"string"},"age":{"type":"integer"},"email":{"type":["string","null"]},"tags":{"type":"array","items":{"type":"string"},"maxItems":3}},"required":["name","age"]}""",
        """{"type":"object","properties":{"when":{"type":"string","format":"date-time"},"id":{"type":"string","format":"uuid"},"kind":{"enum":["a","b","c"]},"ok":{"type":"boolean"}},"required":["when","id","kind","ok"],"additionalProperties":false}""",
        """{"type":"object","properties":{"data":{"type":"array","items":{"type":"object","properties":{"x":{"type":"number"},"y":{"type":"number"}},"required":["x","y"]},"minItems":1}},"required":["data"]}""",
        """{"type":"object"}""",
        """{"anyOf":[{"type":"object","properties":{"a":{"const":1}},"required":["a"]},{"type":"object","properties":{"b":{"type":"string"}},"required":["b"]}]}""",
        """{"$ref":"#/$defs/Node","$defs":{"Node":{"type":"object","properties":{"v":{"type":"integer"},"kids":{"type":"array","items":{"$ref":"#/$defs/Node"},"maxItems":2}},"required":["v","kids"]}}}""",
    ];

    [Theory]
    [MemberData(nameof(Schemas))]
    public void Random_choices_always_give_valid_json_within_the_budget(string schemaText)
    {
        var schema = JsonSchema.FromText(schemaText);
        var root = JsonSchemaCompiler.Compile(JsonDocument.Parse(schemaText).RootElement);
        foreach (int seed in new[] { 1, 2, 3, 4 })
        {
            int minimum = new JsonSchemaConstraint(root, Tokenizer).MinimumTokens;
            foreach (int budget in new[] { minimum, minimum + 40, 250 })
            {
                var (text, used) = Generate(root, budget, seed);
                Assert.True(used <= budget, $"used {used} tokens of {budget}");
                JsonNode? parsed = JsonNode.Parse(text);
                var result = schema.Evaluate(parsed, new EvaluationOptions { OutputFormat = OutputFormat.List });
                Assert.True(result.IsValid, $"seed {seed}, budget {budget}: {text}\n{string.Join("\n", result.Details.Where(d => d.Errors is not null).SelectMany(d => d.Errors!.Values))}");
            }
        }
    }

    [Theory]
    [InlineData("date-time")]
    [InlineData("date")]
    [InlineData("time")]
    [InlineData("uuid")]
    public void Every_generated_format_value_parses_in_dotnet(string format)
    {
        var root = JsonSchemaCompiler.Compile(JsonDocument.Parse($$"""{"type":"string","format":"{{format}}"}""").RootElement);
        for (int seed = 0; seed < 25; seed++)
        {
            string value = JsonSerializer.Deserialize<string>(Generate(root, 60, seed).Text)!;
            bool parses = format switch
            {
                "date-time" => DateTimeOffset.TryParse(value, System.Globalization.CultureInfo.InvariantCulture, System.Globalization.DateTimeStyles.None, out _)
                    && JsonSerializer.Deserialize<DateTimeOffset>($"\"{value}\"") != default,
                "date" => DateOnly.TryParseExact(value, "yyyy-MM-dd", out _),
                "time" => TimeOnly.TryParse(value, System.Globalization.CultureInfo.InvariantCulture, out _),
                _ => Guid.TryParse(value, out _),
            };
            Assert.True(parses, $"{format}: '{value}'");
        }
    }

    [Fact]
    public void A_budget_at_the_minimum_still_closes_the_document()
    {
        var root = JsonSchemaCompiler.Compile(JsonDocument.Parse(Schemas.First().Data).RootElement);
        var constraint = new JsonSchemaConstraint(root, Tokenizer);
        var (text, used) = Generate(root, constraint.MinimumTokens, seed: 9);
        Assert.Equal(Tokenizer.Encode("""{"name":"","age":0}""").Length, constraint.MinimumTokens);
        Assert.True(used <= constraint.MinimumTokens);
        Assert.NotNull(JsonNode.Parse(text));
    }

    [Fact]
    public void Inside_strings_most_of_the_vocabulary_is_allowed_and_structure_narrows_it()
    {
        var root = JsonSchemaCompiler.Compile(JsonDocument.Parse("""{"type":"object","properties":{"text":{"type":"string"}},"required":["text"]}""").RootElement);
        var constraint = new JsonSchemaConstraint(root, Tokenizer);
        using (var start = constraint.AllowedTokens(100))
            Assert.All(Allowed(start), id => Assert.StartsWith("{", Decode(id)));
        foreach (int id in Tokenizer.Encode("""{"text":"hello"""))
            constraint.Accept(id);
        using var inString = constraint.AllowedTokens(100);
        int count = Allowed(inString).Count;
        Assert.True(count > 90000, $"{count} tokens allowed inside a string");
        Assert.Contains(Tokenizer.Encode("\"}").Single(), Allowed(inString));
        Assert.DoesNotContain(DbrxSpecialTokens.EndOfText, Allowed(inString));
    }

    private static (string Text, int Used) Generate(SchemaNode root, int budget, int seed)
    {
        var constraint = new JsonSchemaConstraint(root, Tokenizer);
        var random = new Random(seed);
        var bytes = new List<byte>();
        int used = 0;
        while (!constraint.IsComplete)
        {
            Assert.True(used < budget, $"budget {budget} exhausted before the document closed: {Encoding.UTF8.GetString(bytes.ToArray())}");
            using var mask = constraint.AllowedTokens(budget - used);
            var allowed = Allowed(mask);
            Assert.NotEmpty(allowed);
            int pick = allowed[random.Next(allowed.Count)];
            constraint.Accept(pick);
            bytes.AddRange(Tokenizer.TokenBytes(pick).ToArray());
            used++;
        }
        return (Encoding.UTF8.GetString(bytes.ToArray()), used);
    }

    private static List<int> Allowed(TorchSharp.torch.Tensor mask)
    {
        using var accessor = mask.data<bool>();
        var ids = new List<int>();
        long i = 0;
        foreach (bool allowed in accessor)
        {
            if (allowed)
                ids.Add((int)i);
            i++;
        }
        return ids;
    }

    private static string Decode(int id) => Encoding.UTF8.GetString(Tokenizer.TokenBytes(id));
}
