using System.Diagnostics;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;
using Dbrx.ConstrainedDecoding;
using Dbrx.Inference.Generation;
using Dbrx.Inference.Tokenization;

namespace Dbrx.Cli.Bench;

/// <summary>What happened to one schema of the benchmark.</summary>
internal sealed record SchemaOutcome(string File, string Split)
{
    /// <summary>The compile error (keyword and reason), or null when the schema compiled.</summary>
    public JsonSchemaException? CompileError { get; init; }

    /// <summary>Valid instances the masks refused, with where.</summary>
    public List<string> ValidationErrors { get; } = [];

    /// <summary>Invalid instances the masks let through.</summary>
    public List<string> InvalidationErrors { get; } = [];

    /// <summary>Time between masks (this thread's CPU time), in microseconds: every mask but the schema's first.</summary>
    public List<double> MaskMicroseconds { get; } = [];

    /// <summary>The same masks on the wall clock.</summary>
    public List<double> MaskWallMicroseconds { get; } = [];

    /// <summary>Time to the first mask (CPU time), compile included, in microseconds (null when it did not compile).</summary>
    public double? FirstMaskMicroseconds { get; set; }

    /// <summary>The same on the wall clock.</summary>
    public double? FirstMaskWallMicroseconds { get; set; }

    public bool Passing => CompileError is null && ValidationErrors.Count == 0 && InvalidationErrors.Count == 0;
}

/// <summary>
/// MaskBench (JSONSchemaBench's mask benchmark) run against this engine: every schema is compiled (cold: a schema
/// text seen for the first time), then each of its test instances, written as compact JSON with its properties in the
/// schema's order (<see cref="SchemaOrder"/>) and tokenized, is fed token by token; before each token the mask is computed and the token must be in it. A valid instance must be
/// accepted whole, an invalid one refused somewhere or left incomplete. Masks are timed one by one on this thread.
/// </summary>
internal sealed class MaskBenchmark(DbrxTokenizer tokenizer)
{
    /// <summary>A budget so large that it never narrows a mask: the benchmark measures the grammar alone.</summary>
    private const int Unlimited = 1 << 20;

    private static readonly JsonSerializerOptions Compact = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>The split a file belongs to, from its name (<c>Github_easy---o1.json</c>, <c>BFCL_simple_3.json</c>).</summary>
    public static string SplitOf(string file)
    {
        string name = Path.GetFileNameWithoutExtension(file);
        int separator = name.IndexOf("---", StringComparison.Ordinal);
        return separator >= 0 ? name[..separator] : name.Split('_')[0];
    }

    public SchemaOutcome Run(string file)
    {
        using var document = JsonDocument.Parse(File.ReadAllBytes(file));
        JsonElement root = document.RootElement;
        var outcome = new SchemaOutcome(Path.GetFileName(file), SplitOf(file));
        var mask = new ulong[(tokenizer.VocabularySize + 63) / 64];
        long start = Stopwatch.GetTimestamp(), startCpu = ThreadCpuClock.Nanoseconds;
        Func<ITokenConstraint> factory;
        try
        {
            factory = DbrxJsonConstraint.ForSchema(root.GetProperty("schema"), tokenizer);
        }
        catch (JsonSchemaException e)
        {
            return outcome with { CompileError = e };
        }
        bool first = true;
        int index = 0;
        foreach (JsonElement test in root.GetProperty("tests").EnumerateArray())
        {
            bool valid = test.GetProperty("valid").GetBoolean();
            // Written compactly, with properties in the schema's order (invalid ones too, so no refusal comes from order alone).
            string text = SchemaOrder.Apply(JsonNode.Parse(test.GetProperty("data").GetRawText()), root.GetProperty("schema"))?.ToJsonString(Compact) ?? "null";
            int[] tokens = tokenizer.Encode(text);
            ITokenConstraint constraint = factory();
            int refusedAt = -1;
            for (int i = 0; i < tokens.Length && refusedAt < 0; i++)
            {
                long before = Stopwatch.GetTimestamp(), beforeCpu = ThreadCpuClock.Nanoseconds;
                constraint.FillAllowedTokens(mask, Unlimited);
                long afterCpu = ThreadCpuClock.Nanoseconds, after = Stopwatch.GetTimestamp();
                if (first)
                {
                    outcome.FirstMaskMicroseconds = (afterCpu - startCpu) / 1000.0;
                    outcome.FirstMaskWallMicroseconds = Stopwatch.GetElapsedTime(start, after).TotalMicroseconds;
                    first = false;
                }
                else
                {
                    outcome.MaskMicroseconds.Add((afterCpu - beforeCpu) / 1000.0);
                    outcome.MaskWallMicroseconds.Add(Stopwatch.GetElapsedTime(before, after).TotalMicroseconds);
                }
                int token = tokens[i];
                if ((mask[token >> 6] & (1UL << (token & 63))) == 0)
                    refusedAt = i;
                else
                    constraint.Accept(token);
            }
            bool accepted = refusedAt < 0 && constraint.IsComplete;
            if (valid && !accepted)
            {
                string where = refusedAt < 0 ? "incomplete at the end" : $"refused at byte {tokens.Take(refusedAt).Sum(t => tokenizer.TokenBytes(t).Length)}: …{Around(tokens, refusedAt)}";
                outcome.ValidationErrors.Add($"test {index}: {where}");
            }
            else if (!valid && accepted)
            {
                outcome.InvalidationErrors.Add($"test {index} ({test.GetProperty("description").GetString()}): {Shorten(text)}");
            }
            index++;
        }
        return outcome;
    }

    private string Around(int[] tokens, int at)
    {
        string before = tokenizer.Decode(tokens.Take(at).TakeLast(12));
        string token = tokenizer.Decode([tokens[at]]);
        return $"{before}⟦{token}⟧";
    }

    private static string Shorten(string text) => text.Length > 160 ? text[..160] + "…" : text;
}
