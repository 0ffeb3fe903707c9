using static Dbrx.ConstrainedDecoding.Tests.GrammarTesting;

namespace Dbrx.ConstrainedDecoding.Tests;

/// <summary>The recognizer against hand-written schemas and texts whose validity JSON Schema defines.</summary>
public sealed class JsonGrammarTests
{
    private const string Person = """
        {"type":"object","properties":{"name":{"type":"string"},"age":{"type":"integer"},"email":{"type":["string","null"]},"tags":{"type":"array","items":{"type":"string"},"maxItems":2}},"required":["name","age"]}
        """;

    [Theory]
    [InlineData("""{"name":"Ann","age":31}""", true)]
    [InlineData("""{"name":"Ann","age":31,"email":null,"tags":["a","b"]}""", true)]
    [InlineData("""{"name":"Ann","age":31,"tags":[]}""", true)]
    [InlineData("""{"name":"Zoë \u00e9\n","age":-7}""", true)]
    [InlineData("""{"name":"Ann","age":31,"other":1}""", true)]            // undeclared properties are allowed by default
    [InlineData("""{"name":"Ann","age":123456789012345678901234567890}""", true)] // integers of any length
    [InlineData("""{"age":31,"name":"Ann"}""", false)]                     // declared order
    [InlineData("""{"name":"Ann"}""", false)]                              // age is required
    [InlineData("""{"name":"Ann","age":3.5}""", false)]                    // integer
    [InlineData("""{"name":"Ann","age":31,"tags":["a","b","c"]}""", false)] // maxItems
    [InlineData("""{"name":"Ann","age":31,"name":"Bob"}""", false)]        // a declared name is no undeclared property
    [InlineData("""{"name":"Ann", "age":31}""", false)]                    // no insignificant whitespace
    [InlineData("""{"name":"A\uD800","age":1}""", false)]                  // lone surrogate
    [InlineData("""{"name":"\uD83D\uDE00","age":1}""", true)]             // a surrogate pair
    [InlineData("""{"name":"Ann","age":0123}""", false)]                   // leading zero
    public void Object_schemas_are_enforced(string text, bool valid)
    {
        Assert.Equal(valid, Accepts(Person, text));
    }

    [Theory]
    [InlineData("""{"enum":["red","green",3,null]}""", "\"green\"", true)]
    [InlineData("""{"enum":["red","green",3,null]}""", "3", true)]
    [InlineData("""{"enum":["red","green",3,null]}""", "\"blue\"", false)]
    [InlineData("""{"const":{"a":[1,2]}}""", """{"a":[1,2]}""", true)]
    [InlineData("""{"anyOf":[{"type":"boolean"},{"type":"number"}]}""", "false", true)]
    [InlineData("""{"anyOf":[{"type":"boolean"},{"type":"number"}]}""", "-0.25e-3", true)]
    [InlineData("""{"anyOf":[{"type":"boolean"},{"type":"number"}]}""", "\"x\"", false)]
    [InlineData("""{"type":"string","pattern":"^[A-Z]{2}[0-9]+$"}""", "\"AB123\"", true)]
    [InlineData("""{"type":"string","pattern":"^[A-Z]{2}[0-9]+$"}""", "\"A1\"", false)]
    [InlineData("""{"type":"string","pattern":"[0-9]"}""", "\"abc7def\"", true)]       // unanchored: anywhere
    [InlineData("""{"type":"string","pattern":"^a|b$"}""", "\"axx\"", true)]
    [InlineData("""{"type":"string","pattern":"^a|b$"}""", "\"xxb\"", true)]
    [InlineData("""{"type":"string","pattern":"^a|b$"}""", "\"xax\"", false)]
    [InlineData("""{"type":"string","pattern":"^\\d+$"}""", "\"\\u0031\\u0032\"", true)]  // escapes are characters too
    [InlineData("""{"type":"string","minLength":2,"maxLength":3}""", "\"ab\"", true)]
    [InlineData("""{"type":"string","minLength":2,"maxLength":3}""", "\"abcd\"", false)]
    [InlineData("""{"type":"string","minLength":2,"maxLength":3}""", "\"a\"", false)]
    [InlineData("""{"type":"string","maxLength":2}""", "\"😀é\"", true)]                  // counted in characters
    [InlineData("""{"type":"string","maxLength":2,"pattern":"^[a-z😀]*$"}""", "\"😀😀\"", true)]
    [InlineData("""{"type":"string","format":"email","maxLength":12}""", "\"ab@example.c\"", true)]
    [InlineData("""{"type":"string","format":"email","maxLength":12}""", "\"abc@example.com\"", false)]
    [InlineData("""{"type":"string","format":"uri","maxLength":2048,"minLength":12}""", "\"https://a.io\"", true)]
    [InlineData("""{"type":"string","format":"uri","maxLength":2048,"minLength":13}""", "\"https://a.io\"", false)]
    [InlineData("""{"type":"object","additionalProperties":{"type":"integer"}}""", """{"x":1,"y":2}""", true)]
    [InlineData("""{"type":"object","additionalProperties":{"type":"integer"}}""", """{"x":"1"}""", false)]
    [InlineData("""{"type":"object","properties":{},"additionalProperties":false}""", "{}", true)]
    [InlineData("""{"type":"object","properties":{},"additionalProperties":false}""", """{"a":1}""", false)]
    [InlineData("""{"type":"object","properties":{"a":{}},"additionalProperties":false}""", """{"a":1,"b":1}""", false)]
    [InlineData("""{"type":"object","patternProperties":{"^x-":{"type":"integer"}},"additionalProperties":false}""", """{"x-a":1}""", true)]
    [InlineData("""{"type":"object","patternProperties":{"^x-":{"type":"integer"}},"additionalProperties":false}""", """{"x-a":"1"}""", false)]
    [InlineData("""{"type":"object","patternProperties":{"^x-":{"type":"integer"}},"additionalProperties":false}""", """{"y":1}""", false)]
    [InlineData("""{"type":"object","propertyNames":{"maxLength":2}}""", """{"ab":1}""", true)]
    [InlineData("""{"type":"object","propertyNames":{"maxLength":2}}""", """{"abc":1}""", false)]
    [InlineData("""{"type":"object","properties":{"a":{"type":"integer"}},"required":["a","b"]}""", """{"a":1,"b":[]}""", true)]
    [InlineData("""{"type":"object","properties":{"a":{"type":"integer"}},"required":["a","b"]}""", """{"a":1}""", false)]
    [InlineData("""{"type":"array","items":{"type":"integer"},"minItems":2}""", "[1]", false)]
    [InlineData("""{"type":"array","items":{"type":"integer"},"minItems":2}""", "[1,2,3]", true)]
    [InlineData("""{"type":"array","prefixItems":[{"type":"string"},{"type":"integer"}],"items":false}""", """["a",1]""", true)]
    [InlineData("""{"type":"array","prefixItems":[{"type":"string"},{"type":"integer"}],"items":false}""", """["a",1,2]""", false)]
    [InlineData("""{"type":"array","items":[{"type":"string"}],"additionalItems":{"type":"integer"}}""", """["a",1,2]""", true)]
    [InlineData("""{"type":"array","items":[{"type":"string"}],"additionalItems":{"type":"integer"}}""", """["a","b"]""", false)]
    [InlineData("""{}""", """{"any":[1,"two",{"three":null}],"b":true}""", true)]
    [InlineData("""{"type":"string","nullable":true}""", "null", true)]
    [InlineData("""{"allOf":[{"type":"integer"},{"minimum":1}]}""", "0", false)]
    [InlineData("""{"allOf":[{"type":"integer"},{"minimum":1}]}""", "1", true)]
    [InlineData("""{"allOf":[{"properties":{"a":{"type":"integer"}},"additionalProperties":false},{"properties":{"b":{}}}]}""", """{"a":1}""", true)]
    [InlineData("""{"allOf":[{"properties":{"a":{"type":"integer"}},"additionalProperties":false},{"properties":{"b":{}}}]}""", """{"a":1,"b":2}""", false)]
    [InlineData("""{"type":"object","properties":{"kind":{"type":"string"}},"anyOf":[{"properties":{"x":{"type":"integer"}},"required":["x"]},{"required":["y"]}]}""", """{"kind":"k","x":1}""", true)]
    [InlineData("""{"type":"object","properties":{"kind":{"type":"string"}},"anyOf":[{"properties":{"x":{"type":"integer"}},"required":["x"]},{"required":["y"]}]}""", """{"kind":"k","x":"1"}""", false)]
    [InlineData("""{"type":"object","not":{"required":["a"]}}""", """{"a":1}""", false)]
    [InlineData("""{"type":"object","not":{"required":["a"]}}""", """{"b":1}""", true)]
    [InlineData("""{"type":"string","not":{"enum":["no"]}}""", "\"no\"", false)]
    [InlineData("""{"type":"string","not":{"enum":["no"]}}""", "\"not\"", true)]
    [InlineData("""{"type":"string","not":{"pattern":"^a"}}""", "\"abc\"", false)]
    [InlineData("""{"type":"string","not":{"pattern":"^a"}}""", "\"bc\"", true)]
    [InlineData("""{"type":"object","properties":{"a":{},"b":{}},"dependencies":{"a":["b"]}}""", """{"a":1}""", false)]
    [InlineData("""{"type":"object","properties":{"a":{},"b":{}},"dependencies":{"a":["b"]}}""", """{"a":1,"b":2}""", true)]
    [InlineData("""{"type":"object","properties":{"a":{},"b":{}},"dependencies":{"a":["b"]}}""", """{"b":2}""", true)]
    [InlineData("""{"type":"object","properties":{"a":{},"b":{}},"dependencies":{"a":["b"]}}""", """{"c":1}""", true)]
    [InlineData("""{"type":"object","minProperties":1,"maxProperties":1,"properties":{"a":{},"b":{}}}""", """{"a":1}""", true)]
    [InlineData("""{"type":"object","minProperties":1,"maxProperties":1,"properties":{"a":{},"b":{}}}""", "{}", false)]
    [InlineData("""{"type":"object","minProperties":1,"maxProperties":1,"properties":{"a":{},"b":{}}}""", """{"a":1,"b":2}""", false)]
    public void Keywords_are_enforced(string schema, string text, bool valid)
    {
        Assert.Equal(valid, Accepts(schema, text));
    }

    /// <summary>oneOf: exactly one alternative. Exclusive ones act as anyOf; ones that differ in required properties are made exclusive.</summary>
    [Theory]
    [InlineData("""{"oneOf":[{"type":"string"},{"type":"integer"}]}""", "\"a\"", true)]
    [InlineData("""{"oneOf":[{"type":"string"},{"type":"integer"}]}""", "1", true)]
    [InlineData("""{"oneOf":[{"type":"object","properties":{"k":{"const":"a"}},"required":["k"]},{"type":"object","properties":{"k":{"const":"b"}},"required":["k"]}]}""", """{"k":"b"}""", true)]
    [InlineData("""{"type":"object","properties":{"l":{"type":"number"},"w":{"type":"number"},"r":{"type":"number"}},"oneOf":[{"required":["l","w"]},{"required":["r"]}]}""", """{"l":1,"w":2}""", true)]
    [InlineData("""{"type":"object","properties":{"l":{"type":"number"},"w":{"type":"number"},"r":{"type":"number"}},"oneOf":[{"required":["l","w"]},{"required":["r"]}]}""", """{"r":1}""", true)]
    [InlineData("""{"type":"object","properties":{"l":{"type":"number"},"w":{"type":"number"},"r":{"type":"number"}},"oneOf":[{"required":["l","w"]},{"required":["r"]}]}""", """{"l":1,"w":2,"r":3}""", false)]
    [InlineData("""{"type":"object","properties":{"l":{"type":"number"},"w":{"type":"number"},"r":{"type":"number"}},"oneOf":[{"required":["l","w"]},{"required":["r"]}]}""", """{"l":1,"r":3}""", true)]
    public void OneOf_is_exclusive(string schema, string text, bool valid)
    {
        Assert.Equal(valid, Accepts(schema, text));
    }

    /// <summary>Every day of every month, leap years by the Gregorian rules, and the RFC 3339 shape.</summary>
    [Theory]
    [InlineData("date", "2024-02-29", true)]
    [InlineData("date", "2023-02-29", false)]
    [InlineData("date", "2000-02-29", true)]
    [InlineData("date", "1900-02-29", false)]
    [InlineData("date", "2024-01-31", true)]
    [InlineData("date", "2024-04-31", false)]
    [InlineData("date", "2024-04-30", true)]
    [InlineData("date", "2024-12-31", true)]
    [InlineData("date", "2024-13-01", false)]
    [InlineData("date", "2024-00-10", false)]
    [InlineData("date", "0000-01-01", false)]
    [InlineData("date", "2024-1-01", false)]
    [InlineData("date-time", "2024-05-17T08:30:00Z", true)]
    [InlineData("date-time", "2024-05-17T08:30:00.123+02:00", true)]
    [InlineData("date-time", "2024-05-17T08:30:00", false)]
    [InlineData("date-time", "2024-05-17 08:30:00Z", false)]
    [InlineData("date-time", "2024-02-30T08:30:00Z", false)]
    [InlineData("date-time", "2022-01-31T23:59:99Z", false)]
    [InlineData("date-time", "2024-05-17T24:00:00Z", false)]
    [InlineData("time", "08:30:06Z", true)]
    [InlineData("time", "08:30:06", false)]
    [InlineData("duration", "P1Y2M3DT4H5M6S", true)]
    [InlineData("duration", "PT1H", true)]
    [InlineData("duration", "P2W", true)]
    [InlineData("duration", "P", false)]
    [InlineData("duration", "PT", false)]
    [InlineData("duration", "P1D2H", false)]
    [InlineData("email", "joe.bloggs@example.com", true)]
    [InlineData("email", "example.example.com", false)]
    [InlineData("email", ".joe@example.com", false)]
    [InlineData("hostname", "www.example.com", true)]
    [InlineData("hostname", "-bad.example.com", false)]
    [InlineData("hostname", "Invalid Hostname", false)]
    [InlineData("ipv4", "192.168.0.1", true)]
    [InlineData("ipv4", "256.1.1.1", false)]
    [InlineData("ipv4", "01.1.1.1", false)]
    [InlineData("ipv6", "::1", true)]
    [InlineData("ipv6", "2001:db8::8a2e:370:7334", true)]
    [InlineData("ipv6", "2001:db8::8a2e::7334", false)]
    [InlineData("ipv6", "::ffff:192.168.0.1", true)]
    [InlineData("uri", "https://example.com/a/b?c=d#e", true)]
    [InlineData("uri", "urn:isbn:0451450523", true)]
    [InlineData("uri", "/relative/path", false)]
    [InlineData("uri", "not a uri", false)]
    [InlineData("uri", "http://example.com:70000", false)]
    [InlineData("uri", "a:b", false)]                              // .NET reads one letter as a drive
    [InlineData("uri-reference", "/relative/path", true)]
    [InlineData("uuid", "123e4567-e89b-12d3-a456-426614174000", true)]
    [InlineData("uuid", "123e4567-e89b-12d3-a456-42661417400", false)]
    [InlineData("not-a-known-format", "anything", true)]
    public void Formats_follow_their_rfcs(string format, string value, bool valid)
    {
        Assert.Equal(valid, Accepts($$"""{"type":"string","format":"{{format}}"}""", System.Text.Json.JsonSerializer.Serialize(value)));
    }

    /// <summary>Bounds are exact whatever the length of the number, exclusive bounds and multipleOf included.</summary>
    [Theory]
    [InlineData("""{"type":"integer","minimum":1,"maximum":100}""", "1", true)]
    [InlineData("""{"type":"integer","minimum":1,"maximum":100}""", "100", true)]
    [InlineData("""{"type":"integer","minimum":1,"maximum":100}""", "0", false)]
    [InlineData("""{"type":"integer","minimum":1,"maximum":100}""", "101", false)]
    [InlineData("""{"type":"integer","minimum":1,"maximum":100}""", "342780438", false)]
    [InlineData("""{"type":"integer","minimum":-5,"maximum":-2}""", "-3", true)]
    [InlineData("""{"type":"integer","minimum":-5,"maximum":-2}""", "-6", false)]
    [InlineData("""{"type":"integer","minimum":-5,"maximum":-2}""", "-1", false)]
    [InlineData("""{"type":"integer","minimum":0}""", "-0", false)]           // no minus where the bound is ≥ 0 (.NET's unsigned types refuse -0)
    [InlineData("""{"type":"integer","exclusiveMaximum":0}""", "-0", false)]
    [InlineData("""{"type":"integer","minimum":0,"maximum":18446744073709551615}""", "18446744073709551615", true)]
    [InlineData("""{"type":"integer","minimum":0,"maximum":18446744073709551615}""", "18446744073709551616", false)]
    [InlineData("""{"type":"integer","minimum":0,"maximum":18446744073709551615}""", "-1", false)]
    [InlineData("""{"type":"number","exclusiveMinimum":0,"maximum":1}""", "0", false)]
    [InlineData("""{"type":"number","exclusiveMinimum":0,"maximum":1}""", "0.0001", true)]
    [InlineData("""{"type":"number","exclusiveMinimum":0,"maximum":1}""", "1.0", true)]
    [InlineData("""{"type":"number","exclusiveMinimum":0,"maximum":1}""", "1.00001", false)]
    [InlineData("""{"type":"number","minimum":0.5}""", "0.49999999999999999999", false)]
    [InlineData("""{"type":"number","minimum":0.5}""", "0.5", true)]
    [InlineData("""{"type":"number","minimum":0,"exclusiveMinimum":true}""", "0", false)]
    [InlineData("""{"type":"integer","multipleOf":3}""", "12", true)]
    [InlineData("""{"type":"integer","multipleOf":3}""", "13", false)]
    [InlineData("""{"type":"number","multipleOf":0.01}""", "1.25", true)]
    [InlineData("""{"type":"number","multipleOf":0.01}""", "1.255", false)]
    [InlineData("""{"type":"number","multipleOf":0.01}""", "1.2500", true)]
    [InlineData("""{"type":"number","multipleOf":2.5}""", "7.5", true)]
    [InlineData("""{"type":"number","multipleOf":2.5}""", "7", false)]
    [InlineData("""{"type":"number"}""", "1E+400", true)]
    [InlineData("""{"type":"number"}""", "1e", false)]
    [InlineData("""{"type":"number"}""", "-", false)]
    [InlineData("""{"type":"number"}""", ".5", false)]
    public void Numbers_are_checked_digit_by_digit(string schema, string text, bool valid)
    {
        Assert.Equal(valid, Accepts(schema, text));
    }

    [Fact]
    public void Recursive_references_work()
    {
        const string tree = """
            {"$ref":"#/$defs/Node","$defs":{"Node":{"type":"object","properties":{"value":{"type":"integer"},"children":{"type":"array","items":{"$ref":"#/$defs/Node"}}},"required":["value","children"],"additionalProperties":false}}}
            """;
        var grammar = Compile(tree);
        Assert.True(Accepts(grammar, """{"value":1,"children":[{"value":2,"children":[]}]}"""));
        Assert.False(Accepts(grammar, """{"value":1,"children":[{"value":2}]}"""));
        Assert.Equal("""{"value":0,"children":[]}""".Length, grammar.Root.MinBytes);
    }

    /// <summary>Microsoft.Extensions.AI nests a schema with its own $schema and refers inside it relative to that.</summary>
    [Fact]
    public void References_resolve_against_a_nested_schema_root_first()
    {
        const string wrapped = """
            {"type":"object","properties":{"data":{"$schema":"https://json-schema.org/draft/2020-12/schema","type":"array","items":{"type":"object","properties":{"n":{"type":"integer"},"child":{"type":["object","null"],"properties":{"n":{"type":"integer"},"child":{"$ref":"#/items/properties/child"}}}}}}},"required":["data"]}
            """;
        Assert.True(Accepts(wrapped, """{"data":[{"n":1,"child":{"n":2,"child":null}}]}"""));
        Assert.False(Accepts(wrapped, """{"data":[{"n":1,"child":{"n":2,"child":5}}]}"""));
    }

    [Fact]
    public void The_shortest_completion_is_known_at_every_point()
    {
        var grammar = Compile(Person);
        Assert.Equal("""{"name":"","age":0}""".Length, grammar.Root.MinBytes);
        Assert.Equal("""{"name":"","age":0}""", Completion(grammar, ""));
        Assert.Equal("\",\"age\":0}", Completion(grammar, """{"name":"Jo"""));
        Assert.Equal("0}", Completion(grammar, """{"name":"Jo","age":"""));
    }

    [Theory]
    [InlineData("false", "schema", "#")]
    [InlineData("""{"type":5}""", "type", "#/type")]
    [InlineData("""{"type":"banana"}""", "type", "#/type")]
    [InlineData("""{"$ref":"#/$defs/missing"}""", "$ref", "#/$ref")]
    [InlineData("""{"enum":[]}""", "enum", "#/enum")]
    [InlineData("""{"type":"string","pattern":"([a-"}""", "pattern", "#/pattern")]
    [InlineData("""{"type":"string","pattern":"(?<=x)y"}""", "pattern", "#/pattern")]
    [InlineData("""{"properties":{"a":{"minLength":-1}}}""", "minLength", "#/properties/a/minLength")]
    [InlineData("""{"properties":{"a":3}}""", "properties", "#/properties/a")]
    [InlineData("""{"type":"object","properties":{"next":{"$ref":"#"}},"required":["next"]}""", "schema", "#")]
    [InlineData("""{"if":{"required":["a"]},"then":{"required":["b"]}}""", "if", "#/if")]
    [InlineData("""{"type":"array","contains":{"type":"integer"}}""", "contains", "#/contains")]
    [InlineData("""{"type":"array","uniqueItems":true}""", "uniqueItems", "#/uniqueItems")]
    [InlineData("""{"oneOf":[{"type":"integer"},{"minimum":2}]}""", "oneOf", "#/oneOf")]
    [InlineData("""{"not":{"type":"integer","minimum":5}}""", "not", "#/not")]
    [InlineData("""{"$ref":"http://example.com/other.json"}""", "$ref", "#/$ref")]
    [InlineData("3", "schema", "#")]
    public void Invalid_and_unenforceable_schemas_fail_naming_the_keyword_and_path(string schema, string keyword, string path)
    {
        var error = Assert.Throws<JsonSchemaException>(() => Compile(schema));
        Assert.Equal(keyword, error.Keyword);
        Assert.Equal(path, error.SchemaPath);
        Assert.Contains(keyword, error.Message);
        Assert.Contains(path, error.Message);
    }

    [Fact]
    public void Undeclared_properties_can_be_turned_off()
    {
        var strict = Compile("""{"type":"object","properties":{"a":{"type":"integer"}}}""", undeclaredProperties: false);
        Assert.True(Accepts(strict, """{"a":1}"""));
        Assert.False(Accepts(strict, """{"a":1,"b":2}"""));
        // Dictionaries and free-form objects keep their keys.
        Assert.True(Accepts(Compile("""{"type":"object","additionalProperties":{"type":"integer"}}""", undeclaredProperties: false), """{"x":1}"""));
        Assert.True(Accepts(Compile("""{"type":"object"}""", undeclaredProperties: false), """{"x":1}"""));
    }
}
