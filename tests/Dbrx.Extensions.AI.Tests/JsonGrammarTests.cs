using System.Text;
using System.Text.Json;
using Dbrx.Extensions.AI.ConstrainedDecoding;

namespace Dbrx.Extensions.AI.Tests;

public sealed class JsonGrammarTests
{
    private static SchemaNode Compile(string schema) => JsonSchemaCompiler.Compile(JsonDocument.Parse(schema).RootElement);

    /// <summary>Feeds the text byte by byte; true when it is a complete document the schema allows.</summary>
    private static bool Accepts(SchemaNode root, string text)
    {
        var states = new List<JsonGrammar.Stack> { JsonGrammar.Start(root) };
        foreach (byte b in Encoding.UTF8.GetBytes(text))
        {
            states = JsonGrammar.Step(states, b);
            if (states.Count == 0)
                return false;
        }
        return states.Any(JsonGrammar.IsComplete);
    }

    private const string Person = """
        {"type":"object","properties":{"name":{"type":"string"},"age":{"type":"integer"},"email":{"type":["string","null"]},"tags":{"type":"array","items":{"type":"string"},"maxItems":2}},"required":["name","age"]}
        """;

    [Theory]
    [InlineData("""{"name":"Ann","age":31}""", true)]
    [InlineData("""{"name":"Ann","age":31,"email":null,"tags":["a","b"]}""", true)]
    [InlineData("""{"name":"Ann","age":31,"tags":[]}""", true)]
    [InlineData("""{"name":"Zoë \u00e9\n","age":-7}""", true)]
    [InlineData("""{"age":31,"name":"Ann"}""", false)]           // declared order
    [InlineData("""{"name":"Ann"}""", false)]                    // age is required
    [InlineData("""{"name":"Ann","age":3.5}""", false)]          // integer
    [InlineData("""{"name":"Ann","age":31,"tags":["a","b","c"]}""", false)]  // maxItems
    [InlineData("""{"name":"Ann","age":31,"other":1}""", false)]  // undeclared
    [InlineData("""{"name":"Ann", "age":31}""", false)]          // no insignificant whitespace
    [InlineData("""{"name":"A\uD800","age":1}""", false)]       // lone surrogate
    [InlineData("""{"name":"Ann","age":0123}""", false)]         // leading zero
    [InlineData("""{"name":"Ann","age":1234567890}""", false)]   // more than 9 integer digits
    public void Object_schemas_are_enforced(string text, bool valid)
    {
        Assert.Equal(valid, Accepts(Compile(Person), text));
    }

    [Theory]
    [InlineData("""{"enum":["red","green",3,null]}""", "\"green\"", true)]
    [InlineData("""{"enum":["red","green",3,null]}""", "3", true)]
    [InlineData("""{"enum":["red","green",3,null]}""", "\"blue\"", false)]
    [InlineData("""{"const":{"a":[1,2]}}""", """{"a":[1,2]}""", true)]
    [InlineData("""{"anyOf":[{"type":"boolean"},{"type":"number"}]}""", "false", true)]
    [InlineData("""{"anyOf":[{"type":"boolean"},{"type":"number"}]}""", "-0.25", true)]
    [InlineData("""{"anyOf":[{"type":"boolean"},{"type":"number"}]}""", "\"x\"", false)]
    [InlineData("""{"type":"string","format":"date-time"}""", "\"2024-05-17T08:30:00Z\"", true)]
    [InlineData("""{"type":"string","format":"date-time"}""", "\"2024-13-17T08:30:00Z\"", false)]
    [InlineData("""{"type":"string","format":"uuid"}""", "\"123e4567-e89b-12d3-a456-426614174000\"", true)]
    [InlineData("""{"type":"string","format":"date"}""", "\"2024-02-30\"", false)]
    [InlineData("""{"type":"string","pattern":"^[A-Z]{2}[0-9]+$"}""", "\"AB123\"", true)]
    [InlineData("""{"type":"string","pattern":"^[A-Z]{2}[0-9]+$"}""", "\"A1\"", false)]
    [InlineData("""{"type":"object","additionalProperties":{"type":"integer"}}""", """{"x":1,"y":2}""", true)]
    [InlineData("""{"type":"object","additionalProperties":{"type":"integer"}}""", """{"x":"1"}""", false)]
    [InlineData("""{"type":"array","items":{"type":"integer"},"minItems":2}""", "[1]", false)]
    [InlineData("""{"type":"array","items":{"type":"integer"},"minItems":2}""", "[1,2,3]", true)]
    [InlineData("""{}""", """{"any":[1,"two",{"three":null}],"b":true}""", true)]
    [InlineData("""{"type":"string","nullable":true}""", "null", true)]
    [InlineData("""{"unknownKeyword":5,"type":"number","minimum":10}""", "3", true)]
    public void Keywords_are_enforced(string schema, string text, bool valid)
    {
        Assert.Equal(valid, Accepts(Compile(schema), text));
    }

    [Fact]
    public void Recursive_references_work()
    {
        const string tree = """
            {"$ref":"#/$defs/Node","$defs":{"Node":{"type":"object","properties":{"value":{"type":"integer"},"children":{"type":"array","items":{"$ref":"#/$defs/Node"}}},"required":["value","children"]}}}
            """;
        var root = Compile(tree);
        Assert.True(Accepts(root, """{"value":1,"children":[{"value":2,"children":[]}]}"""));
        Assert.False(Accepts(root, """{"value":1,"children":[{"value":2}]}"""));
        Assert.Equal("""{"value":0,"children":[]}""".Length, root.MinLength);
    }

    private static string Completion(JsonGrammar.Stack state)
    {
        var bytes = new List<byte>();
        Assert.True(JsonGrammar.AppendShortestCompletion(state, bytes));
        return Encoding.UTF8.GetString(bytes.ToArray());
    }

    [Fact]
    public void The_shortest_completion_is_known_at_every_point()
    {
        var root = Compile(Person);
        Assert.Equal("""{"name":"","age":0}""".Length, root.MinLength);
        var state = JsonGrammar.Start(root);
        Assert.Equal("""{"name":"","age":0}""", Completion(state));
        foreach (byte b in """{"name":"Jo"""u8.ToArray())
        {
            var next = new List<JsonGrammar.Stack>();
            JsonGrammar.Step(state, b, next);
            state = Assert.Single(next);
        }
        Assert.Equal("\",\"age\":0}", Completion(state));
        Assert.True(Accepts(root, """{"name":"Jo""" + Completion(state)));
    }

    [Fact]
    public void A_false_schema_is_rejected_and_odd_schemas_never_crash()
    {
        Assert.Throws<ArgumentException>(() => Compile("false"));
        foreach (string schema in new[] { "true", "[]", "3", """{"type":"quantum"}""", """{"$ref":"#/nowhere"}""", """{"type":"string","pattern":"(?<=x)y"}""", """{"allOf":[{"type":"integer"},{"minimum":1}]}""" })
            Assert.True(Compile(schema).MinLength > 0);
    }
}
