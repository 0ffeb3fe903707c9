using System.Text.Json;
using System.Text.RegularExpressions;

using Json.Schema;
using Microsoft.Extensions.AI;

namespace Dbrx.Extensions.AI.Tests;

/// <summary>
/// The schema a caller gives is obeyed, always: a schema's name never makes it narrower (a client over HTTP can send
/// any name, such as "TimeSpan"), and the .NET type given with WithResponseType only adds constraints, so the answer
/// satisfies the schema given and binds to the type. Answers from the tiny random model, several seeds, checked with
/// JsonSchema.Net.
/// </summary>
public sealed class SchemaNarrowingTests(BindingMatrixTests.Client fixture) : IClassFixture<BindingMatrixTests.Client>
{
    private static readonly int[] Seeds = [1, 2, 3, 4];

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static ChatOptions Options(int seed, JsonElement schema, string name) => new()
    {
        Temperature = 1.0f,
        Seed = seed,
        MaxOutputTokens = 40,
        ResponseFormat = ChatResponseFormat.ForJsonSchema(schema, schemaName: name),
    };

    /// <summary>Each of these names was looked up among the loaded types and its schema replaced or refused.</summary>
    [Theory]
    [InlineData("TimeSpan", """{"type":"string","pattern":"^[a-z]{3}$"}""")]
    [InlineData("TimeOnly", """{"type":"string","format":"time"}""")]
    [InlineData("Char", """{"type":"string","minLength":2,"maxLength":4}""")]
    [InlineData("Byte", """{"type":"integer","minimum":1000,"maximum":2000}""")]
    [InlineData("SByte", """{"type":"integer","minimum":-1000,"maximum":-200}""")]
    public async Task A_schema_named_like_a_dotnet_type_is_obeyed_as_given(string name, string data)
    {
        var schemaText = $$"""{"type":"object","properties":{"data":{{data}}},"required":["data"],"additionalProperties":false}""";
        var schema = JsonDocument.Parse(schemaText).RootElement;
        var validator = JsonSchema.FromText(schemaText);
        var responses = await Task.WhenAll(Seeds.Select(seed => fixture.Chat.GetResponseAsync("Answer.", Options(seed, schema, name), Ct)));
        foreach (var response in responses)
        {
            Assert.True(validator.Evaluate(JsonDocument.Parse(response.Text).RootElement).IsValid, $"{response.Text} does not match {schemaText}");
            // JsonSchema.Net reads at most 7 fractional digits in a time; RFC 3339's full-time (with its offset) is checked here.
            if (data.Contains("\"time\"", StringComparison.Ordinal))
                Assert.Matches(@"^([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\.[0-9]+)?(Z|[+-]([01][0-9]|2[0-3]):[0-5][0-9])$", JsonDocument.Parse(response.Text).RootElement.GetProperty("data").GetString());
        }
    }

    /// <summary>A type's pattern goes beside the schema's own: both hold, and the value binds.</summary>
    [Fact]
    public async Task A_response_type_adds_its_rules_to_the_schemas_own()
    {
        const string schemaText = """{"type":"object","properties":{"letter":{"type":"string","pattern":"^[a-f]$"},"wait":{"type":"string","pattern":"^0[0-9]:[0-9]{2}:[0-9]{2}$"}},"required":["letter","wait"]}""";
        var schema = JsonDocument.Parse(schemaText).RootElement;
        var validator = JsonSchema.FromText(schemaText);
        var responses = await Task.WhenAll(Seeds.Select(seed =>
            fixture.Chat.GetResponseAsync("Answer.", Options(seed, schema, "Reply").WithResponseType<Reply>(), Ct)));
        foreach (var response in responses)
        {
            Assert.True(validator.Evaluate(JsonDocument.Parse(response.Text).RootElement).IsValid, response.Text);
            var reply = JsonSerializer.Deserialize<Reply>(response.Text, AIJsonUtilities.DefaultOptions);
            Assert.Matches("^[a-f]$", reply!.Letter.ToString());
        }
    }

    public sealed record Reply(char Letter, TimeSpan Wait);

    [Fact]
    public void Narrowing_adds_a_second_pattern_in_allOf_and_keeps_the_first()
    {
        var schema = JsonDocument.Parse("""{"type":"string","pattern":"^[a-z]{3}$"}""").RootElement;
        string narrowed = ClrSchemaTightener.ForResponse(schema, typeof(TimeSpan)).GetRawText();
        Assert.Contains("\"pattern\":\"^[a-z]{3}$\"", narrowed, StringComparison.Ordinal);
        Assert.Matches(new Regex("\"allOf\":\\[\\{\"pattern\":\"\\^-\\?"), narrowed);
    }

    [Fact]
    public void Only_a_type_object_narrows_never_a_name_or_text()
    {
        var schema = JsonDocument.Parse("""{"type":"object","properties":{"data":{"type":"integer"}},"required":["data"]}""").RootElement;
        // What a server's mapper could put there from a request's JSON: text, never a Type.
        var options = new ChatOptions { AdditionalProperties = new() { [DbrxChatOptionsExtensions.ResponseTypeKey] = "System.Byte" } };
        Assert.Null(DbrxChatOptionsExtensions.ResponseType(options));
        Assert.Equal(schema.GetRawText(), ClrSchemaTightener.ForResponse(schema, DbrxChatOptionsExtensions.ResponseType(options)).GetRawText());
        // The same schema with the type given in-process: bounded to what a byte holds.
        string narrowed = ClrSchemaTightener.ForResponse(schema, typeof(byte)).GetRawText();
        Assert.Contains("\"maximum\":255", narrowed, StringComparison.Ordinal);
    }
}
