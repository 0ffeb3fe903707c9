using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Dbrx.Cli.Bench;
using Dbrx.ConstrainedDecoding;
using Dbrx.Inference.Tokenization;

namespace Dbrx.Cli.Commands;

/// <summary>
/// <c>dbrx bench-json</c>: JSON-schema constrained decoding on MaskBench (real schemas with valid and invalid
/// instances): correctness per split and overall, and the time masks take, next to llguidance's published row.
/// </summary>
internal static class BenchJsonCommand
{
    public static Command Create()
    {
        var folder = new Argument<DirectoryInfo>("folder") { Description = "The MaskBench folder (its data/ holds the schema files), for example ../shared/maskbench." }.AcceptExistingOnly();
        var split = new Option<string[]>("--split") { Description = "Only these splits (file-name prefixes such as Github_hard, Kubernetes); repeatable." };
        var json = new Option<bool>("--json") { Description = "Print one JSON object instead of a table." };
        var failures = new Option<bool>("--failures") { Description = "Also list every failing schema: compile errors, refused valid instances, accepted invalid ones." };
        var command = new Command("bench-json", "Measure JSON-schema constrained decoding on MaskBench: schemas passing, errors, and time per token mask.")
        {
            folder, split, json, failures,
        };
        command.SetAction(CliAction.Run(parse =>
        {
            DirectoryInfo root = parse.GetValue(folder)!;
            string data = Directory.Exists(Path.Combine(root.FullName, "data")) ? Path.Combine(root.FullName, "data") : root.FullName;
            string[] files = [.. Directory.GetFiles(data, "*.json").Order(StringComparer.Ordinal)];
            string[] splits = parse.GetValue(split) ?? [];
            if (splits.Length > 0)
                files = [.. files.Where(f => splits.Any(s => MaskBenchmark.SplitOf(f).StartsWith(s, StringComparison.OrdinalIgnoreCase)))];
            if (files.Length == 0)
                throw new ArgumentException($"No schema files (*.json) in '{data}'{(splits.Length > 0 ? " for the splits asked for" : "")}.");

            DbrxTokenizer tokenizer = DbrxTokenizer.Default;
            var benchmark = new MaskBenchmark(tokenizer);
            // The tokenizer's trie is built once per process (not per schema), and the code is compiled: both before timing.
            var warmUp = Stopwatch.StartNew();
            WarmUp(tokenizer);
            double warmUpMs = warmUp.Elapsed.TotalMilliseconds;

            var outcomes = new List<SchemaOutcome>();
            foreach (string file in files)
            {
                try
                {
                    outcomes.Add(benchmark.Run(file));
                }
                catch (Exception e) when (e is not JsonSchemaException)
                {
                    throw new InvalidOperationException($"{Path.GetFileName(file)}: {e.Message}", e);
                }
            }
            var rows = outcomes.GroupBy(o => o.Split).OrderBy(g => g.Key, StringComparer.Ordinal).Select(g => Summarize(g.Key, [.. g])).ToList();
            SplitRow overall = Summarize("overall", outcomes);
            var reasons = outcomes.Where(o => o.CompileError is not null)
                .GroupBy(o => $"{o.CompileError!.Keyword}: {o.CompileError.Reason}")
                .OrderByDescending(g => g.Count()).ThenBy(g => g.Key, StringComparer.Ordinal).Select(g => (g.Key, g.Count())).ToList();

            if (parse.GetValue(json))
            {
                Console.WriteLine(CliJson.Format(Json(rows, overall, reasons, warmUpMs)));
            }
            else
            {
                Console.WriteLine($"MaskBench: {files.Length} schemas from {data}; tokenizer {tokenizer.Source} ({tokenizer.VocabularySize:N0} ids); {Environment.ProcessorCount} CPUs ({CpuName()}), masks on one thread");
                Console.WriteLine($"(times are {(ThreadCpuClock.IsCpuTime ? "this thread's CPU time, so other load on the machine does not count" : "wall-clock")}; tokenizer trie built and code warmed up first: {warmUpMs:F0} ms, once per process; TTFM = compile + first mask, cold)");
                Console.WriteLine(Table(rows, overall));
                Console.WriteLine($"{"llguidance (published)",-24} {"11306",7} {"78.8%",8} {"2377",8} {"20",9} {"0",11} {"",9} {"46",8} {"",7} {"533",7} {"",8} {"1037",9} {"",8}");
                Console.WriteLine("  (llguidance 0.7.10 on the full MaskBench, 11,306 schemas, 128k-token vocabulary, single core; validation errors are valid instances refused, invalidation errors invalid ones accepted)");
                Console.WriteLine($"wall clock, overall: TBM p50 {Micro(Percentile(overall.TbmWall, 0.5))} p90 {Micro(Percentile(overall.TbmWall, 0.9))} p99 {Micro(Percentile(overall.TbmWall, 0.99))} max {Micro(overall.TbmWall.LastOrDefault(double.NaN))}, TTFM p50 {Micro(Percentile(overall.TtfmWall, 0.5))} p99 {Micro(Percentile(overall.TtfmWall, 0.99))} µs (load average {LoadAverage()})");
                if (reasons.Count > 0)
                {
                    Console.WriteLine("compile errors, by reason:");
                    foreach (var (reason, count) in reasons)
                        Console.WriteLine($"  {count,4} x {reason}");
                }
            }
            if (parse.GetValue(failures))
            {
                foreach (SchemaOutcome outcome in outcomes.Where(o => !o.Passing))
                {
                    Console.WriteLine($"{outcome.File}:");
                    if (outcome.CompileError is { } error)
                        Console.WriteLine($"  compile error: {error.Message}");
                    foreach (string failure in outcome.ValidationErrors)
                        Console.WriteLine($"  valid instance refused, {failure}");
                    foreach (string failure in outcome.InvalidationErrors)
                        Console.WriteLine($"  invalid instance accepted, {failure}");
                }
            }
            return 0;
        }));
        return command;
    }

    /// <summary>
    /// A schema with most features and an instance fed through it, compiled afresh a few times, then a pause: .NET
    /// compiles hot methods again, optimized, after some calls and in the background, and the measurement should see
    /// the code a server that has answered a few requests runs.
    /// </summary>
    private static void WarmUp(DbrxTokenizer tokenizer)
    {
        const string schema = """
            {"type":"object","properties":{"id":{"type":"string","format":"uuid"},"n":{"type":"integer","minimum":0,"maximum":1000,"multipleOf":2},
            "x":{"type":"number","exclusiveMinimum":-1.5},"tags":{"type":"array","items":{"enum":["a","b",1,null]},"maxItems":3},
            "when":{"type":"string","format":"date-time"},"name":{"type":"string","pattern":"^[a-z]+$","maxLength":20},"free":{"type":"string","minLength":1},
            "kind":{"oneOf":[{"type":"boolean"},{"type":"object","properties":{"k":{"const":"v"}},"required":["k"],"additionalProperties":false}]},
            "tree":{"$ref":"#/$defs/node"},"map":{"type":"object","patternProperties":{"^x-":{"type":"integer"}},"additionalProperties":{"type":"string"}}},
            "required":["id","n"],"$defs":{"node":{"type":"object","properties":{"kids":{"type":"array","items":{"$ref":"#/$defs/node"}}}}}}
            """;
        const string instance = """{"id":"123e4567-e89b-12d3-a456-426614174000","n":42,"x":0.0325,"tags":["a",1,null],"when":"2024-02-29T12:00:00.5+01:00","name":"abc","free":"héllo \u00e9 \" ok","kind":{"k":"v"},"tree":{"kids":[{"kids":[]}]},"map":{"x-a":1,"b":"c"},"extra":[true,{"deep":null}]}""";
        var mask = new ulong[(tokenizer.VocabularySize + 63) / 64];
        for (int round = 0; round < 40; round++)
        {
            // A different text each round is a different (uncached) grammar.
            var factory = DbrxJsonConstraint.ForSchema(JsonDocument.Parse(schema.Replace("\"required\"", $"\"$comment\":\"{round}\",\"required\"", StringComparison.Ordinal)).RootElement, tokenizer);
            var constraint = factory();
            foreach (int token in tokenizer.Encode(instance))
            {
                constraint.FillAllowedTokens(mask, 1 << 20);
                if ((mask[token >> 6] & (1UL << (token & 63))) == 0)
                    throw new InvalidOperationException("The warm-up instance was refused: the engine is broken.");
                constraint.Accept(token);
            }
        }
        Thread.Sleep(500);
    }

    private sealed record SplitRow(string Name, int Schemas, int Passing, int CompileErrors, int ValidationErrors, int InvalidationErrors, int Masks, double[] Tbm, double[] Ttfm, double[] TbmWall, double[] TtfmWall);

    private static SplitRow Summarize(string name, List<SchemaOutcome> outcomes)
    {
        double[] tbm = [.. outcomes.SelectMany(o => o.MaskMicroseconds).Order()];
        double[] ttfm = [.. outcomes.Where(o => o.FirstMaskMicroseconds is not null).Select(o => o.FirstMaskMicroseconds!.Value).Order()];
        double[] tbmWall = [.. outcomes.SelectMany(o => o.MaskWallMicroseconds).Order()];
        double[] ttfmWall = [.. outcomes.Where(o => o.FirstMaskWallMicroseconds is not null).Select(o => o.FirstMaskWallMicroseconds!.Value).Order()];
        return new SplitRow(name, outcomes.Count, outcomes.Count(o => o.Passing), outcomes.Count(o => o.CompileError is not null),
            outcomes.Sum(o => o.ValidationErrors.Count), outcomes.Sum(o => o.InvalidationErrors.Count), tbm.Length + ttfm.Length, tbm, ttfm, tbmWall, ttfmWall);
    }

    /// <summary>The value below which a fraction of the sorted values lie (nearest rank).</summary>
    private static double Percentile(double[] sorted, double fraction) =>
        sorted.Length == 0 ? double.NaN : sorted[Math.Clamp((int)Math.Ceiling(fraction * sorted.Length) - 1, 0, sorted.Length - 1)];

    private static string Table(List<SplitRow> rows, SplitRow overall)
    {
        var lines = new List<string>
        {
            $"{"split",-24} {"schemas",7} {"passing",8} {"compile",8} {"validat.",9} {"invalidat.",11} {"masks",9} {"TBM p50",8} {"p90",7} {"p99",7} {"max",8} {"TTFM p50",9} {"p99",8}   (µs)",
        };
        foreach (SplitRow row in rows.Append(overall))
        {
            lines.Add($"{row.Name,-24} {row.Schemas,7} {Percent(row.Passing, row.Schemas),8} {row.CompileErrors,8} {row.ValidationErrors,9} {row.InvalidationErrors,11} {row.Masks,9} "
                + $"{Micro(Percentile(row.Tbm, 0.5)),8} {Micro(Percentile(row.Tbm, 0.9)),7} {Micro(Percentile(row.Tbm, 0.99)),7} {Micro(row.Tbm.LastOrDefault(double.NaN)),8} "
                + $"{Micro(Percentile(row.Ttfm, 0.5)),9} {Micro(Percentile(row.Ttfm, 0.99)),8}");
        }
        return string.Join('\n', lines);
    }

    private static string Percent(int part, int whole) => whole == 0 ? "-" : (100.0 * part / whole).ToString("F1", CultureInfo.InvariantCulture) + "%";

    private static string Micro(double value) => double.IsNaN(value) ? "-" : value.ToString(value < 100 ? "F1" : "F0", CultureInfo.InvariantCulture);

    private static JsonObject Json(List<SplitRow> rows, SplitRow overall, List<(string Reason, int Count)> reasons, double warmUpMs)
    {
        JsonObject Of(SplitRow row) => new()
        {
            ["schemas"] = row.Schemas,
            ["passing"] = row.Passing,
            ["compile_errors"] = row.CompileErrors,
            ["validation_errors"] = row.ValidationErrors,
            ["invalidation_errors"] = row.InvalidationErrors,
            ["masks"] = row.Masks,
            ["tbm_us"] = new JsonObject { ["p50"] = Percentile(row.Tbm, 0.5), ["p90"] = Percentile(row.Tbm, 0.9), ["p99"] = Percentile(row.Tbm, 0.99), ["max"] = row.Tbm.LastOrDefault() },
            ["ttfm_us"] = new JsonObject { ["p50"] = Percentile(row.Ttfm, 0.5), ["p99"] = Percentile(row.Ttfm, 0.99) },
            ["tbm_wall_us"] = new JsonObject { ["p50"] = Percentile(row.TbmWall, 0.5), ["p99"] = Percentile(row.TbmWall, 0.99) },
            ["ttfm_wall_us"] = new JsonObject { ["p50"] = Percentile(row.TtfmWall, 0.5), ["p99"] = Percentile(row.TtfmWall, 0.99) },
        };
        var splits = new JsonObject();
        foreach (SplitRow row in rows)
            splits[row.Name] = Of(row);
        return new JsonObject
        {
            ["splits"] = splits,
            ["overall"] = Of(overall),
            ["compile_error_reasons"] = new JsonObject(reasons.Select(r => KeyValuePair.Create(r.Reason, (JsonNode?)r.Count))),
            ["warm_up_ms"] = warmUpMs,
            ["llguidance_published"] = new JsonObject { ["schemas"] = 11306, ["passing"] = 8909, ["compile_errors"] = 2377, ["validation_errors"] = 20, ["invalidation_errors"] = 0, ["tbm_us"] = new JsonObject { ["p50"] = 46, ["p99"] = 533 }, ["ttfm_us"] = new JsonObject { ["p50"] = 1037 } },
        };
    }

    private static string LoadAverage()
    {
        try
        {
            return File.ReadAllText("/proc/loadavg").Split(' ')[0];
        }
        catch (IOException)
        {
            return "unknown";
        }
    }

    private static string CpuName()
    {
        try
        {
            return File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal))?.Split(':', 2)[1].Trim() ?? "unknown CPU";
        }
        catch (IOException)
        {
            return "unknown CPU";
        }
    }
}
