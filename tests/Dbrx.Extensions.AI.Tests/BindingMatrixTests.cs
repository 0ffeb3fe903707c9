using System.ComponentModel.DataAnnotations;
using System.Text.Json;
using Json.Schema;
using Microsoft.Extensions.AI;

namespace Dbrx.Extensions.AI.Tests;

/// <summary>
/// Every parameter type AIFunctionFactory describes, called by the tiny random model with a required tool call (so
/// only the constraint stands between the output and the method), a few seeds each: the arguments must match the
/// tool's schema and bind, so invoking the function never throws. The same for GetResponseAsync&lt;T&gt; over records
/// with those member types.
/// </summary>
[Trait("Category", "Slow")]
public sealed class BindingMatrixTests(BindingMatrixTests.Client fixture) : IClassFixture<BindingMatrixTests.Client>
{
    /// <summary>One client for the whole matrix (the seeds of a case run together, batched).</summary>
    public sealed class Client : IDisposable
    {
        private readonly TinyCheckpoint tiny = new();

        public Client()
        {
            var options = tiny.Options();
            options.MaxBatchSize = 8;
            // Short prompts: the tool's description is what matters here, not dbrx-instruct's long default system prompt.
            options.SystemPrompt = "";
            Chat = new DbrxChatClient(options);
        }

        public DbrxChatClient Chat { get; }

        public void Dispose()
        {
            Chat.Dispose();
            tiny.Dispose();
        }
    }

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static readonly int[] Seeds = [1, 2, 3];

    public enum Colour { Red, Green, Blue }

    public sealed record Point(int X, double Y, string Label);

    public sealed class Settings
    {
        public byte Level { get; set; }
        public TimeSpan Timeout { get; set; }
        public List<Colour> Colours { get; set; } = [];
        public Settings? Child { get; set; }
    }

    /// <summary>One function per parameter type; each records that it ran.</summary>
    public static TheoryData<string> Functions => [.. Catalogue().Keys];

    private static Dictionary<string, Delegate> Catalogue() => new()
    {
        ["byte"] = (byte v) => v,
        ["sbyte"] = (sbyte v) => v,
        ["short"] = (short v) => v,
        ["ushort"] = (ushort v) => v,
        ["int"] = (int v) => v,
        ["uint"] = (uint v) => v,
        ["long"] = (long v) => v,
        ["ulong"] = (ulong v) => v,
        ["Int128"] = (Int128 v) => v.ToString(),
        ["UInt128"] = (UInt128 v) => v.ToString(),
        ["float"] = (float v) => v,
        ["double"] = (double v) => v,
        ["decimal"] = (decimal v) => v,
        ["Half"] = (Half v) => (float)v,
        ["char"] = (char v) => v,
        ["string"] = (string v) => v,
        ["string-length"] = ([StringLength(5, MinimumLength = 2)] string v) => v.Length is >= 2 and <= 5 ? v : throw new ArgumentException("length"),
        ["string-pattern"] = ([RegularExpression("^[a-z]+[0-9]?$")] string v) => v,
        ["range"] = ([Range(1, 100)] int v) => v is >= 1 and <= 100 ? v : throw new ArgumentException("range"),
        ["bool"] = (bool v) => v,
        ["enum"] = (Colour v) => v,
        ["nullable-int"] = (int? v) => v,
        ["nullable-enum"] = (DayOfWeek? v) => v,
        ["DateTime"] = (DateTime v) => v,
        ["DateTimeOffset"] = (DateTimeOffset v) => v,
        ["DateOnly"] = (DateOnly v) => v,
        ["TimeOnly"] = (TimeOnly v) => v,
        ["TimeSpan"] = (TimeSpan v) => v,
        ["Guid"] = (Guid v) => v,
        ["Uri"] = (Uri v) => v,
        ["array"] = (int[] v) => v.Length,
        ["list"] = (List<string> v) => v.Count,
        ["set"] = (HashSet<long> v) => v.Count,
        ["readonly-list"] = (IReadOnlyList<DateOnly> v) => v.Count,
        ["dictionary"] = (Dictionary<string, double> v) => v.Count,
        ["int-keys"] = (Dictionary<int, string> v) => v.Count,
        ["enum-keys"] = (Dictionary<Colour, bool> v) => v.Count,
        ["bytes"] = (byte[] v) => v.Length,
        ["record"] = (Point v) => v.Label,
        ["class"] = (Settings v) => v.Level,
        ["defaults"] = (string city, int days = 3, Colour colour = Colour.Green, double? limit = null) => $"{city} {days} {colour} {limit}",
        ["several"] = (ushort a, char b, TimeSpan c, Uri d, decimal e, sbyte[] f) => $"{a}{b}{c}{d}{e}{f.Length}",
    };

    [Theory]
    [MemberData(nameof(Functions))]
    public async Task Required_calls_bind_for_every_parameter_type(string name)
    {
        AIFunction function = AIFunctionFactory.Create(Catalogue()[name], "f_" + name.Replace('-', '_'), $"Test function taking {name}.");
        var schema = JsonSchema.FromText(function.JsonSchema.GetRawText());
        var responses = await Task.WhenAll(Seeds.Select(seed => fixture.Chat.GetResponseAsync("Call the function.", new ChatOptions
        {
            Tools = [function],
            ToolMode = ChatToolMode.RequireSpecific(function.Name),
            AllowMultipleToolCalls = false,
            Temperature = 1.0f,
            Seed = seed,
            MaxOutputTokens = 48,
        }, Ct)));
        foreach (var response in responses)
        {
            var call = Assert.Single(response.Messages.SelectMany(m => m.Contents).OfType<FunctionCallContent>());
            Assert.Null(call.Exception);
            var arguments = JsonSerializer.SerializeToNode(call.Arguments);
            Assert.True(MatchesOrUnreadable(schema, arguments), $"{arguments!.ToJsonString()} does not match {function.JsonSchema}");
            // The binding itself: AIFunctionFactory deserializes each argument into its parameter type.
            await function.InvokeAsync(new AIFunctionArguments(call.Arguments), Ct);
        }
    }

    /// <summary>JsonSchema.Net reads numbers as decimal: values beyond it (a double's 1e300) it cannot check, and they are left to the binding.</summary>
    private static bool MatchesOrUnreadable(JsonSchema schema, System.Text.Json.Nodes.JsonNode? value)
    {
        try
        {
            return schema.Evaluate(value).IsValid;
        }
        catch (Exception e) when (e is FormatException or OverflowException)
        {
            return true;
        }
    }

    public sealed record Everything(
        byte B, sbyte Sb, short S, ushort Us, int I, uint Ui, long L, ulong Ul, float F, double D, decimal M, Half H, char C,
        string Text, bool Flag, Colour Colour, int? Maybe, DateTime When, DateTimeOffset At, DateOnly Day, TimeOnly Time, TimeSpan Span,
        Guid Id, Uri Link, int[] Numbers, List<string> Names, Dictionary<string, int> Counts, Point Where);

    [Fact]
    public async Task Structured_output_binds_records_of_every_member_type()
    {
        ChatOptions Options(int seed, int tokens) => new() { Temperature = 1.0f, Seed = seed, MaxOutputTokens = tokens };
        var everything = Seeds.Select(seed => fixture.Chat.GetResponseAsync<Everything>("Fill it in.", Options(seed, 300).WithResponseType<Everything>(), cancellationToken: Ct));
        var numbers = Seeds.Select(seed => fixture.Chat.GetResponseAsync<ulong>("A number.", Options(seed, 40).WithResponseType<ulong>(), cancellationToken: Ct));
        var spans = Seeds.Select(seed => fixture.Chat.GetResponseAsync<TimeSpan[]>("Durations.", Options(seed, 60).WithResponseType<TimeSpan[]>(), cancellationToken: Ct));
        var letters = Seeds.Select(seed => fixture.Chat.GetResponseAsync<char>("A letter.", Options(seed, 30).WithResponseType<char>(), cancellationToken: Ct));
        var settings = Seeds.Select(seed => fixture.Chat.GetResponseAsync<Settings>("Settings.", Options(seed, 120).WithResponseType<Settings>(), cancellationToken: Ct));
        foreach (var response in await Task.WhenAll(everything))
            Assert.True(response.TryGetResult(out Everything? value) && value.Link is not null, response.Text);
        foreach (var response in await Task.WhenAll(numbers))
            Assert.True(response.TryGetResult(out _), response.Text);
        foreach (var response in await Task.WhenAll(spans))
            Assert.True(response.TryGetResult(out _), response.Text);
        foreach (var response in await Task.WhenAll(letters))
            Assert.True(response.TryGetResult(out _), response.Text);
        foreach (var response in await Task.WhenAll(settings))
            Assert.True(response.TryGetResult(out _), response.Text);
    }
}
