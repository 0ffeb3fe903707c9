using System.Text.Json;
using Dbrx.Inference.Checkpoints;
using Dbrx.Inference.Configuration;
using Dbrx.Inference.Tokenization;
using static TorchSharp.torch;

namespace Dbrx.Cli.Tests;

/// <summary>The dbrx tool end to end, through its process boundary: output, files, exit codes and error lines.</summary>
public sealed class CliTests : IClassFixture<CliTests.TinyCheckpoint>
{
    private readonly TinyCheckpoint tiny;

    public CliTests(TinyCheckpoint tiny) => this.tiny = tiny;

    /// <summary>One <c>dbrx init --preset tiny</c> checkpoint shared by the tests of this class.</summary>
    public sealed class TinyCheckpoint : IAsyncLifetime
    {
        public string Directory { get; } = Path.Combine(Path.GetTempPath(), "dbrx-cli-tests-" + Guid.NewGuid().ToString("N"));

        public async ValueTask InitializeAsync()
        {
            var result = await Cli.Run("init", "--preset", "tiny", "--seed", "5", "--output", Directory);
            Assert.True(result.ExitCode == 0, result.Error);
        }

        public ValueTask DisposeAsync()
        {
            System.IO.Directory.Delete(Directory, recursive: true);
            return ValueTask.CompletedTask;
        }
    }

    [Fact]
    public async Task Init_writes_a_checkpoint_that_info_describes()
    {
        var info = await Cli.Run("info", "--model", tiny.Directory, "--json");
        Assert.Equal(0, info.ExitCode);
        using var json = JsonDocument.Parse(info.Out);
        Assert.Equal(100352, json.RootElement.GetProperty("config").GetProperty("vocab_size").GetInt32());
        Assert.Equal(19, json.RootElement.GetProperty("tensors").GetInt32());
        // The tiny preset by hand: the embedding and the head 100,352 × 64 each, the final norm 64; per block (2 of
        // them) Wqkv (64 + 2 · 2 · 16) × 64, out_proj 64 × 64, two norms of 64, the router 16 × 64, and the experts'
        // w1, v1 and w2 16 · 128 × 64 each.
        Assert.Equal(2 * 100_352 * 64 + 64 + 2 * (128 * 64 + 64 * 64 + 2 * 64 + 16 * 64 + 3 * 16 * 128 * 64), json.RootElement.GetProperty("parameters").GetInt64());
    }

    [Fact]
    public async Task Info_says_when_int4_does_not_fit_the_shape_instead_of_guessing_a_size()
    {
        var info = await Cli.Run("info", "--model", Cli.GoldenModel);
        Assert.Equal(0, info.ExitCode);
        Assert.Contains("int4         not possible for this shape: int4 quantization needs d_model (experts' w1, v1) = 64 to be a multiple of the group size 128", info.Out);
    }

    [Fact]
    public async Task Logits_on_the_golden_case_match_the_reference()
    {
        // Row 0 of the golden case (no padding), whose logits Hugging Face transformers recorded.
        using var golden = SafetensorsFile.Open(Path.Combine(Cli.GoldenModel, "golden.safetensors"));
        using var inputIds = golden.Read("input_ids");
        using var referenceLogits = golden.Read("logits");
        long[] ids = inputIds[0].data<long>().ToArray();
        string output = Path.Combine(tiny.Directory, "..", Guid.NewGuid().ToString("N") + ".safetensors");
        try
        {
            var result = await Cli.Run("logits", "--model", Cli.GoldenModel, "--token-ids", string.Join(",", ids), "--device", "cpu", "--output", output);
            Assert.True(result.ExitCode == 0, result.Error);
            using var file = SafetensorsFile.Open(output);
            using var logits = file.Read("logits");
            Assert.Equal(new long[] { 1, ids.Length, 512 }, logits.shape);
            using var expected = referenceLogits[0].unsqueeze(0);
            Assert.True(expected.allclose(logits, rtol: 0, atol: 1e-4));
        }
        finally
        {
            File.Delete(output);
        }
    }

    /// <summary>
    /// The session replay on the tiny model: every configuration reports what it reused, never more than a cache of
    /// every prefix seen before could give, and the block cache keeps blocks while kept rows alone keep none.
    /// </summary>
    [Fact]
    [Trait("Category", "Slow")]
    public async Task Bench_sessions_reports_reuse_against_the_ideal_for_each_cache_configuration()
    {
        var result = await Cli.Run("bench", "--sessions", "--model", tiny.Directory, "--device", "cpu", "--session-count", "4", "--turns", "2", "--system-tokens", "64", "--batch", "2", "--block-tokens", "8", "--json");
        Assert.True(result.ExitCode == 0, result.Error);
        using var json = JsonDocument.Parse(result.Out);
        JsonElement[] runs = [.. json.RootElement.GetProperty("runs").EnumerateArray()];
        Assert.Equal(3, runs.Length);
        foreach (JsonElement run in runs)
        {
            long prompt = run.GetProperty("prompt_tokens").GetInt64(), cached = run.GetProperty("cached_tokens").GetInt64(), ideal = run.GetProperty("ideal_cached_tokens").GetInt64();
            Assert.InRange(cached, 0, ideal);
            Assert.InRange(ideal, 1, prompt);
        }
        Assert.Equal(0, runs[0].GetProperty("prefix_blocks").GetProperty("device").GetInt32());
        Assert.True(runs[1].GetProperty("prefix_blocks").GetProperty("device").GetInt32() > 0);
        Assert.True(runs[2].GetProperty("prefix_blocks").GetProperty("host").GetInt32() > 0);
        // The same requests replayed each time.
        Assert.Single(runs.Select(r => r.GetProperty("prompt_tokens").GetInt64()).Distinct());
        Assert.True(json.RootElement.GetProperty("sampling").GetProperty("sampled_tokens_per_s").GetDouble() > 0);
    }

    /// <summary>
    /// <c>bench --gateway</c> on the tiny model: one row per policy, every request answered through the gateway by the
    /// three replicas, none failed or hung, the replicas' cache hits within what one engine could reuse.
    /// </summary>
    [Fact]
    [Trait("Category", "Slow")]
    public async Task Bench_gateway_replays_every_request_through_each_policy()
    {
        var result = await Cli.Run("bench", "--gateway", "--model", tiny.Directory, "--session-count", "2", "--turns", "2", "--system-tokens", "40", "--think-ms", "0");
        Assert.True(result.ExitCode == 0, result.Error);
        string[][] rows = [.. result.Out.Split('\n').Select(line => line.Split(' ', StringSplitOptions.RemoveEmptyEntries)).Where(cells => cells.Length > 0 && cells[0] is "PrefixAware" or "RoundRobin" or "LeastRequests")];
        Assert.Equal(["PrefixAware", "RoundRobin", "LeastRequests"], rows.Select(r => r[0]));
        foreach (string[] row in rows)
        {
            // policy, hit %, "%", cached/ideal, TTFT p50, p90, tokens/s, per replica, ok, failed before streaming, error events, cut, hung, ...
            long[] cachedIdeal = [.. row[3].Split('/').Select(long.Parse)];
            Assert.InRange(cachedIdeal[0], 0, cachedIdeal[1] + 16);   // the ideal renders the prompt a few template tokens short
            Assert.Equal(4, row[7].Split('/').Sum(int.Parse));
            Assert.Equal(["4", "0", "0", "0", "0"], row[8..13]);
        }
    }

    [Fact]
    public async Task Tokenize_and_detokenize_round_trip_and_keep_special_text_ordinary()
    {
        var plain = await Cli.Run("tokenize", "--text", "Hello <|im_end|> world");
        Assert.Equal(0, plain.ExitCode);
        Assert.Equal(string.Join(",", DbrxTokenizer.Default.Encode("Hello <|im_end|> world")), plain.Out.Trim());
        Assert.DoesNotContain("100279", plain.Out);
        var special = await Cli.Run("tokenize", "--text", "Hello <|im_end|>", "--special");
        Assert.EndsWith(",100279", special.Out.Trim());
        var text = await Cli.Run("detokenize", "--token-ids", plain.Out.Trim());
        Assert.Equal("Hello <|im_end|> world", text.Out.TrimEnd('\n'));
    }

    [Fact]
    public async Task Template_renders_the_chat_template_as_text_and_ids()
    {
        const string messages = """[{"role":"system","content":"Be brief."},{"role":"user","content":"Hi <|im_end|>"}]""";
        var text = await Cli.Run("template", "--messages", messages);
        Assert.Equal(0, text.ExitCode);
        Assert.Equal("<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi <|im_end|><|im_end|>\n<|im_start|>assistant\n", text.Out);
        var ids = await Cli.Run("template", "--messages", messages, "--ids");
        int[] expected = Inference.Chat.DbrxChatTemplate.Default.Encode([Inference.Chat.DbrxChatMessage.System("Be brief."), Inference.Chat.DbrxChatMessage.User("Hi <|im_end|>")], true, DbrxTokenizer.Default);
        Assert.Equal(string.Join(",", expected), ids.Out.Trim());
        Assert.Equal(2, expected.Count(id => id == DbrxSpecialTokens.ImEnd));
    }

    [Fact]
    public async Task Generate_json_carries_all_ids_text_reason_and_usage()
    {
        var result = await Cli.Run("generate", "--model", tiny.Directory, "--prompt", "Hello", "--max-new-tokens", "6", "--temperature", "0", "--json");
        Assert.True(result.ExitCode == 0, result.Error);
        using var json = JsonDocument.Parse(result.Out);
        var root = json.RootElement;
        int[] ids = root.GetProperty("token_ids").EnumerateArray().Select(e => e.GetInt32()).ToArray();
        int[] prompt = DbrxTokenizer.Default.Encode("Hello");
        Assert.Equal(prompt, ids.Take(prompt.Length));
        Assert.Equal(prompt.Length + 6, ids.Length);
        Assert.Equal("length", root.GetProperty("finish_reason").GetString());
        Assert.Equal(6, root.GetProperty("usage").GetProperty("completion_tokens").GetInt32());
        Assert.Equal(DbrxTokenizer.Default.Decode(ids.Skip(prompt.Length), skipSpecialTokens: true), root.GetProperty("text").GetString());

        // Streaming text mode prints the same text.
        var streamed = await Cli.Run("generate", "--model", tiny.Directory, "--prompt", "Hello", "--max-new-tokens", "6", "--temperature", "0");
        Assert.Equal(root.GetProperty("text").GetString() + "\n", streamed.Out);
    }

    [Fact]
    public async Task Generate_with_a_seed_is_reproducible()
    {
        string[] args = ["generate", "--model", tiny.Directory, "--prompt", "Once", "--chat", "--max-new-tokens", "8", "--seed", "11", "--json"];
        var a = await Cli.Run(args);
        var b = await Cli.Run(args);
        Assert.Equal(0, a.ExitCode);
        Assert.Equal(JsonDocument.Parse(a.Out).RootElement.GetProperty("token_ids").GetRawText(), JsonDocument.Parse(b.Out).RootElement.GetProperty("token_ids").GetRawText());
    }

    [Fact]
    public async Task Chat_answers_each_line_until_the_input_ends()
    {
        var result = await Cli.RunWithInput("Hi\n/reset\nAgain\n", "chat", "--model", tiny.Directory, "--max-new-tokens", "4", "--temperature", "0");
        Assert.True(result.ExitCode == 0, result.Error);
        Assert.Equal(2, result.Out.Split("dbrx> ").Length - 1);
        Assert.Equal(4, result.Out.Split("you> ").Length - 1);
        Assert.Contains("(conversation cleared)", result.Error);
    }

    /// <summary>Each turn reports its tokens; the second starts from the first turn's cache row (its whole prompt at least).</summary>
    [Fact]
    public async Task Chat_continues_each_turn_from_the_previous_turns_cache()
    {
        var result = await Cli.RunWithInput("Hi\nAnd then?\n", "chat", "--model", tiny.Directory, "--max-new-tokens", "4", "--temperature", "0");
        Assert.True(result.ExitCode == 0, result.Error);
        var turns = System.Text.RegularExpressions.Regex.Matches(result.Error, @"\[length; (\d+) prompt(?: \((\d+) cached\))? \+ 4 generated tokens\]");
        Assert.Equal(2, turns.Count);
        Assert.False(turns[0].Groups[2].Success, "the first turn has nothing cached");
        Assert.InRange(int.Parse(turns[1].Groups[2].Value), int.Parse(turns[0].Groups[1].Value), int.Parse(turns[1].Groups[1].Value) - 1);
    }

    /// <summary>
    /// The issue's check: <c>dbrx init</c>, <c>dbrx quantize</c>, <c>dbrx generate</c>; greedy tokens of the int4 copy
    /// against the float model's (the same checkpoint, loaded as float32).
    /// </summary>
    [Fact]
    public async Task Quantize_then_generate_keeps_the_greedy_tokens_of_the_float_model()
    {
        string quantized = tiny.Directory + "-int4";
        try
        {
            var quantize = await Cli.Run("quantize", "--model", tiny.Directory, "--output", quantized, "--group-size", "64");
            Assert.True(quantize.ExitCode == 0, quantize.Error);
            // info counts a quantized folder in its own scheme.
            using (var info = JsonDocument.Parse((await Cli.Run("info", "--model", quantized, "--json")).Out))
                Assert.Equal("""{"quant_method":"dbrx_int4","bits":4,"group_size":64,"modules":["experts"]}""", info.RootElement.GetProperty("int4_counted").GetRawText().Replace(" ", "").Replace("\n", ""));
            string[] generate = ["generate", "--prompt", "The capital of France is", "--max-new-tokens", "24", "--temperature", "0", "--stop-token-ids", "none", "--json"];
            var full = await Cli.Run([.. generate, "--model", tiny.Directory, "--dtype", "float32"]);
            var int4 = await Cli.Run([.. generate, "--model", quantized]);
            Assert.True(full.ExitCode == 0 && int4.ExitCode == 0, full.Error + int4.Error);
            int[] a = TokenIds(full.Out), b = TokenIds(int4.Out);
            Assert.Equal(a.Length, b.Length);
            double same = a.Zip(b).Count(p => p.First == p.Second) / (double)a.Length;
            Assert.True(a.Take(16).SequenceEqual(b.Take(16)) && same >= 0.75, $"float {string.Join(",", a)}\nint4  {string.Join(",", b)}");
        }
        finally
        {
            if (Directory.Exists(quantized))
                Directory.Delete(quantized, recursive: true);
        }

        static int[] TokenIds(string json) => JsonDocument.Parse(json).RootElement.GetProperty("token_ids").EnumerateArray().Select(e => e.GetInt32()).ToArray();
    }

    /// <summary>
    /// <c>dbrx bench --json</c> on a checkpoint: every figure is present and positive, the limits were measured, and
    /// the bandwidth floor is computed from the bytes a decode step reads, int4 bytes included.
    /// </summary>
    [Theory]
    [Trait("Category", "Slow")]
    [InlineData("float32", null)]
    [InlineData("int4", "experts,attention")]
    public async Task Bench_json_reports_speed_against_limits_measured_in_the_same_run(string dtype, string? int4Modules)
    {
        string[] args = ["bench", "--model", tiny.Directory, "--device", "cpu", "--dtype", dtype, "--prefill", "16,32", "--context", "16", "--batches", "2", "--steps", "2", "--json"];
        if (int4Modules is not null)
            args = [.. args, "--int4-modules", int4Modules, "--int4-group-size", "32"];
        var result = await Cli.Run(args);
        Assert.True(result.ExitCode == 0, result.Error);
        using var json = JsonDocument.Parse(result.Out);
        var root = json.RootElement;
        Assert.StartsWith("CPU (", root.GetProperty("device").GetString());
        Assert.Equal(int4Modules is null ? "float32" : "int4 experts+attention (group 32), float32", root.GetProperty("dtype").GetString());
        Assert.Equal(("sdpa", "Auto"), (root.GetProperty("attention").GetString(), root.GetProperty("expert_dispatch").GetString()));
        Assert.True(root.GetProperty("limits").GetProperty("read_bandwidth_gb_s").GetDouble() > 0);
        Assert.True(root.GetProperty("limits").GetProperty("matmul_tflop_s").GetDouble() > 0);
        foreach (string length in new[] { "16", "32" })
        {
            Assert.True(root.GetProperty("prefill_tokens_per_s").GetProperty(length).GetDouble() > 0);
            Assert.True(root.GetProperty("prefill_fraction_of_matmul").GetProperty(length).GetDouble() > 0);
        }
        Assert.True(root.GetProperty("decode_tokens_per_s").GetProperty("2").GetDouble() > 0);
        Assert.True(root.GetProperty("served_tokens_per_s").GetProperty("1").GetDouble() > 0, "served through DbrxGenerator, batch 1");
        Assert.True(root.GetProperty("served_tokens_per_s").GetProperty("2").GetDouble() > 0, "served through DbrxGenerator, batch 2");
        var json8 = root.GetProperty("served_json_schema");
        Assert.Equal(8, json8.GetProperty("batch").GetInt32());
        Assert.True(json8.GetProperty("tokens_per_s").GetDouble() > 0, "served batch 8 with JSON-schema output");
        Assert.True(root.GetProperty("served_tokens_per_s").GetProperty("8").GetDouble() > 0, "the same batch unconstrained, measured in the same run");
        Assert.True(json8.GetProperty("fraction_of_unconstrained").GetDouble() is > 0 and < double.PositiveInfinity, "a ratio of two positive rates");
        var followUp = root.GetProperty("follow_up");
        Assert.Equal(32, followUp.GetProperty("history_tokens").GetInt32());
        Assert.True(followUp.GetProperty("first_token_ms_reusing_cache").GetDouble() > 0 && followUp.GetProperty("first_token_ms_prefilling").GetDouble() > 0);
        Assert.True(root.GetProperty("decode_batch1_ms_per_token").GetDouble() > 0);
        Assert.True(root.GetProperty("decode_fraction_of_floor").GetDouble() is > 0 and < double.PositiveInfinity, "a ratio of two positive times");

        // Bytes one decode step reads, counted here from the config: one embedding row, the top-k experts, the rest
        // of the weights, the KV cache over the context (16 tokens), all float32 except int4 weights.
        var c = DbrxPresets.Tiny;
        long qkv = (long)c.DModel * (c.DModel + 2 * c.Attention.KvNHeads * c.HeadDim), outProj = (long)c.DModel * c.DModel;
        long chosenExperts = 3L * c.Ffn.MoeTopK * c.Ffn.FfnHiddenSize * c.DModel;
        double Int4(long weights) => weights / 2.0 + 2.0 * (weights / 32) * 4;
        double Float(long weights) => weights * 4.0;
        double attention = int4Modules is null ? Float(qkv + outProj) : Int4(qkv) + Int4(outProj);
        double experts = int4Modules is null ? Float(chosenExperts) : Int4(chosenExperts);
        double perBlock = attention + experts + Float(c.Ffn.MoeNumExperts * (long)c.DModel + 2L * c.DModel) + Float(2L * 16 * c.Attention.KvNHeads * c.HeadDim);
        double expected = Float(c.DModel) + c.NLayers * perBlock + Float(c.DModel + (long)c.VocabSize * c.DModel);
        Assert.Equal(expected, root.GetProperty("active_bytes_per_token").GetDouble(), 1e-6 * expected);
        // The floor is the time to read those bytes at the bandwidth measured.
        double floorMs = expected / (root.GetProperty("limits").GetProperty("read_bandwidth_gb_s").GetDouble() * 1e9) * 1000;
        Assert.Equal(floorMs, root.GetProperty("bandwidth_floor_ms").GetDouble(), 1e-6 * floorMs);
    }

    /// <summary><c>--compare</c> divides this run's figures by another implementation's, read from its JSON.</summary>
    [Fact]
    [Trait("Category", "Slow")]
    public async Task Bench_compare_reports_speedups_over_a_reference_run()
    {
        string reference = Path.Combine(Path.GetTempPath(), Guid.NewGuid().ToString("N") + ".json");
        try
        {
            File.WriteAllText(reference, """{"implementation": "transformers 5.17 (sdpa)", "prefill_tokens_per_s": {"16": 100.0, "4096": 5.0}, "decode_batch1_ms_per_token": 10.0, "decode_tokens_per_s": {"2": 50.0}}""");
            var result = await Cli.Run("bench", "--model", tiny.Directory, "--device", "cpu", "--dtype", "float32", "--prefill", "16", "--context", "16", "--batches", "2", "--steps", "2", "--json", "--compare", reference);
            Assert.True(result.ExitCode == 0, result.Error);
            using var json = JsonDocument.Parse(result.Out);
            var root = json.RootElement;
            var versus = root.GetProperty("versus");
            Assert.Equal("transformers 5.17 (sdpa)", versus.GetProperty("reference").GetString());
            Assert.Equal(root.GetProperty("prefill_tokens_per_s").GetProperty("16").GetDouble() / 100, versus.GetProperty("prefill_speedup").GetProperty("16").GetDouble(), 1e-9);
            Assert.False(versus.GetProperty("prefill_speedup").TryGetProperty("4096", out _), "only lengths both runs measured are compared");
            Assert.Equal(10 / root.GetProperty("decode_batch1_ms_per_token").GetDouble(), versus.GetProperty("decode_batch1_speedup").GetDouble(), 1e-9);
            Assert.Equal(root.GetProperty("decode_tokens_per_s").GetProperty("2").GetDouble() / 50, versus.GetProperty("decode_speedup").GetProperty("2").GetDouble(), 1e-9);

            File.WriteAllText(reference, "[1, 2]");
            var bad = await Cli.Run("bench", "--model", tiny.Directory, "--device", "cpu", "--compare", reference);
            Assert.Equal(1, bad.ExitCode);
            Assert.Contains("is not a JSON object with prefill_tokens_per_s", bad.Error);
        }
        finally
        {
            File.Delete(reference);
        }
    }

    [Fact]
    public async Task Logits_accepts_int4_weights_and_stays_close_to_float()
    {
        string Output() => Path.Combine(Path.GetTempPath(), Guid.NewGuid().ToString("N") + ".safetensors");
        string floatFile = Output(), int4File = Output();
        try
        {
            string[] args = ["logits", "--model", tiny.Directory, "--token-ids", "791,6864,315,9822,374", "--device", "cpu"];
            Assert.Equal(0, (await Cli.Run([.. args, "--output", floatFile])).ExitCode);
            var int4 = await Cli.Run([.. args, "--output", int4File, "--dtype", "int4", "--int4-group-size", "64"]);
            Assert.True(int4.ExitCode == 0, int4.Error);
            using var a = SafetensorsFile.Open(floatFile);
            using var b = SafetensorsFile.Open(int4File);
            using var x = a.Read("logits").flatten(0, 1);
            using var y = b.Read("logits").flatten(0, 1);
            using var cosine = nn.functional.cosine_similarity(x, y, 1).mean();
            using var sameTop = x.argmax(-1).eq(y.argmax(-1)).to_type(ScalarType.Float32).mean();
            Assert.True(cosine.item<float>() > 0.999 && sameTop.item<float>() >= 0.8, $"cosine {cosine.item<float>()}, top-1 agreement {sameTop.item<float>()}");
            Assert.False(x.allclose(y), "the int4 logits should differ from the float ones");
        }
        finally
        {
            File.Delete(floatFile);
            File.Delete(int4File);
        }
    }

    [Theory]
    [InlineData(new[] { "info", "--model", "/nonexistent/model" }, "dbrx: error: '/nonexistent/model' does not exist")]
    [InlineData(new[] { "generate", "--model", "GOLDEN", "--prompt", "Hello" }, "outside the model's vocabulary of 512 ids")]
    [InlineData(new[] { "generate", "--model", "GOLDEN", "--token-ids", "1,2", "--top-p", "0" }, "--top-p must be in (0, 1], not 0")]
    [InlineData(new[] { "logits", "--model", "GOLDEN", "--token-ids", "1,x", "--output", "/tmp/never.safetensors" }, "'x' is not a token id")]
    [InlineData(new[] { "logits", "--model", "GOLDEN", "--token-ids", "1,512", "--output", "/tmp/never.safetensors" }, "Token id 512 is outside the model's vocabulary of 512 ids")]
    [InlineData(new[] { "init", "--preset", "dbrx-instruct", "--output", "/tmp/dbrx-cli-never" }, "This checkpoint needs")]
    [InlineData(new[] { "generate", "--model", "GOLDEN", "--token-ids", "1", "--device", "cuda:7" }, "--device 'cuda:7'")]
    [InlineData(new[] { "info", "--preset", "tiny", "--gpu-memory", "lots" }, "--gpu-memory 'lots' is not a size")]
    [InlineData(new[] { "generate", "--model", "GOLDEN", "--token-ids", "1", "--device", "cpu", "--context-length", "2000000000" }, "--context-length must be between 2 and the model's max_seq_len (128), not 2000000000")]
    [InlineData(new[] { "bench", "--device", "cpu", "--dtype", "int4", "--int4-group-size", "48" }, "The int4 group size must be 32, 64, 128 or 256, not 48")]
    [InlineData(new[] { "quantize", "--model", "GOLDEN", "--output", "/tmp/dbrx-cli-never-q", "--group-size", "32", "--device", "tpu" }, "Unknown device 'tpu'")]
    [InlineData(new[] { "generate", "--model", "GOLDEN", "--token-ids", "-1" }, "'-1' is not a token id")]
    [InlineData(new[] { "generate", "--model", "GOLDEN", "--token-ids", "1,x" }, "'x' is not a token id")]
    [InlineData(new[] { "detokenize", "--token-ids", "999999" }, "Token id 999999 is outside the model's vocabulary of 100352 ids")]
    [InlineData(new[] { "generate", "--model", "GOLDEN", "--token-ids", "1,2,3,4,5,6,7,8,9,10", "--context-length", "8", "--max-new-tokens", "4" }, "Shorten the prompt, lower --max-new-tokens, raise --context-length (up to the model's max_seq_len), or pass --truncate")]
    public async Task Errors_are_one_line_on_stderr_with_a_non_zero_exit_and_no_stack_trace(string[] args, string message)
    {
        var result = await Cli.Run(args.Select(a => a == "GOLDEN" ? Cli.GoldenModel : a).ToArray());
        Assert.Equal(1, result.ExitCode);
        Assert.Contains(message, result.Error);
        Assert.DoesNotContain("   at ", result.Error);
        // The error is one line (then, for an option error, the hint to --help); a load that had started says so first.
        string[] lines = result.Error.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        int error = Array.FindIndex(lines, line => !line.StartsWith("dbrx: loading ", StringComparison.Ordinal));
        Assert.StartsWith("dbrx: error: ", lines[error]);
        Assert.All(lines[(error + 1)..], line => Assert.StartsWith("Run 'dbrx ", line));
    }

    /// <summary>
    /// Errors in what the user typed are found before any loading starts, say it in the tool's terms (the flag, never
    /// a library's option name or parameter), and take one line (then the hint to --help for a parse error).
    /// </summary>
    [Theory]
    [InlineData(new[] { "serve", "--model", "GOLDEN", "--port", "70000" }, "dbrx: error: --port must be between 0 and 65535, not 70000.")]
    [InlineData(new[] { "serve", "--model", "GOLDEN", "--max-batch-size", "0" }, "dbrx: error: --max-batch-size must be at least 1, not 0.")]
    [InlineData(new[] { "serve", "--model", "GOLDEN", "--max-queued-requests", "-1" }, "dbrx: error: --max-queued-requests must be")]
    [InlineData(new[] { "serve", "--model", "GOLDEN", "--default-max-tokens", "0" }, "dbrx: error: --default-max-tokens must be at least 1")]
    [InlineData(new[] { "serve", "--model", "GOLDEN", "--device", "gpu" }, "dbrx: error: --device 'gpu' cannot be used: Unknown device 'gpu'")]
    [InlineData(new[] { "serve", "--model", "GOLDEN", "--kv-events", "udp://*:5557" }, "dbrx: error: --kv-events must be a ZeroMQ endpoint such as tcp://*:5557, not 'udp://*:5557'.")]
    [InlineData(new[] { "generate", "--model", "GOLDEN", "--token-ids", "1", "--max-new-tokens", "0" }, "dbrx: error: --max-new-tokens must be at least 1, not 0.")]
    [InlineData(new[] { "generate", "--model", "GOLDEN", "--token-ids", "1", "--device", "gpu" }, "dbrx: error: Unknown device 'gpu'")]
    [InlineData(new[] { "generate", "--model", "GOLDEN", "--token-ids", "1", "--device", "cpu", "--context-length", "1" }, "dbrx: error: --context-length must be between 2")]
    [InlineData(new[] { "frobnicate" }, "dbrx: error: Unrecognized command or argument 'frobnicate'.")]
    public async Task Errors_in_what_was_typed_name_the_flag_before_anything_loads(string[] args, string message)
    {
        var result = await Cli.Run(args.Select(a => a == "GOLDEN" ? Cli.GoldenModel : a).ToArray());
        Assert.Equal(1, result.ExitCode);
        string[] lines = result.Error.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.StartsWith(message, lines[0], StringComparison.Ordinal);
        Assert.All(lines[1..], line => Assert.StartsWith("Run 'dbrx ", line));
        Assert.True(lines.Length <= 2, result.Error);
        foreach (string internals in (string[])["(Parameter", "Options.", "MaxNewTokens", "MaxBatchSize", "ContextLength", "TopP", "Exception", "Loading DBRX"])
            Assert.DoesNotContain(internals, result.Error, StringComparison.Ordinal);
    }

    /// <summary>A port another program holds: one line naming the flag, and the model is not loaded first.</summary>
    [Fact]
    public async Task Serve_on_a_port_in_use_says_so_in_one_line_without_loading()
    {
        using var holder = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        holder.Start();
        string port = ((System.Net.IPEndPoint)holder.LocalEndpoint).Port.ToString(System.Globalization.CultureInfo.InvariantCulture);
        var result = await Cli.Run("serve", "--model", Cli.GoldenModel, "--device", "cpu", "--port", port);
        Assert.Equal(1, result.ExitCode);
        Assert.Equal($"dbrx: error: --port {port} on 127.0.0.1 is in use by another program; choose another --port (0 picks a free one).", result.Error.Trim());
    }

    [Fact]
    public async Task A_prompt_that_cannot_fit_is_refused_before_encoding_naming_the_flags()
    {
        // 100,000 bytes need at least 782 tokens whatever they are (a process argument is limited to 128 KiB): far
        // beyond a 64-token context, refused from the length alone.
        string prompt = new('a', 100_000);
        var result = await Cli.Run("generate", "--model", Cli.GoldenModel, "--prompt", prompt, "--context-length", "64");
        Assert.Equal(1, result.ExitCode);
        Assert.Contains("refused before encoding", result.Error);
        Assert.Contains("--truncate", result.Error);
        Assert.DoesNotContain("TruncatePromptFromLeft", result.Error);
    }

    [Fact]
    public async Task Loading_shows_one_start_and_one_end_line_when_stderr_is_not_a_terminal_and_nothing_with_quiet()
    {
        var shown = await Cli.Run("generate", "--model", tiny.Directory, "--token-ids", "1,2", "--max-new-tokens", "1", "--temperature", "0");
        Assert.Equal(0, shown.ExitCode);
        string[] lines = shown.Error.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal($"dbrx: loading {tiny.Directory} ...", lines[0]);
        Assert.Matches($@"^dbrx: loading {System.Text.RegularExpressions.Regex.Escape(tiny.Directory)} done in [\d.]+ s: \d+ tensors, [\d.]+ MiB$", lines[1]);
        Assert.Equal(2, lines.Count(l => l.StartsWith("dbrx: loading", StringComparison.Ordinal)));

        var quiet = await Cli.Run("generate", "--quiet", "--model", tiny.Directory, "--token-ids", "1,2", "--max-new-tokens", "1", "--temperature", "0");
        Assert.Equal(0, quiet.ExitCode);
        Assert.DoesNotContain("loading", quiet.Error);
        Assert.Equal(shown.Out, quiet.Out);
    }

    [Fact]
    public async Task Init_suggests_bfloat16_only_when_the_checkpoint_is_not_already_bfloat16()
    {
        var bf16 = await Cli.Run("init", "--preset", "dbrx-instruct", "--output", "/tmp/dbrx-cli-never");
        Assert.Equal(1, bf16.ExitCode);
        Assert.DoesNotContain("--dtype bfloat16", bf16.Error);
        var fp32 = await Cli.Run("init", "--preset", "dbrx-instruct", "--dtype", "float32", "--output", "/tmp/dbrx-cli-never");
        Assert.Equal(1, fp32.ExitCode);
        Assert.Contains("--dtype bfloat16 (half the size)", fp32.Error);
    }

    [Fact]
    public async Task Quantize_without_a_group_size_picks_the_largest_the_model_allows_and_says_so()
    {
        string output = Path.Combine(Path.GetTempPath(), "dbrx-cli-q-" + Guid.NewGuid().ToString("N"));
        try
        {
            var result = await Cli.Run("quantize", "--model", tiny.Directory, "--output", output);
            Assert.True(result.ExitCode == 0, result.Error);
            using var config = JsonDocument.Parse(File.ReadAllText(Path.Combine(output, "config.json")));
            int dModel = config.RootElement.GetProperty("d_model").GetInt32();
            int ffn = config.RootElement.GetProperty("ffn_config").GetProperty("ffn_hidden_size").GetInt32();
            int chosen = config.RootElement.GetProperty("quantization_config").GetProperty("group_size").GetInt32();
            int expected = new[] { 128, 64, 32 }.First(g => dModel % g == 0 && ffn % g == 0);
            Assert.Equal(expected, chosen);
            Assert.Contains($"group size 128 does not divide this model's widths; using {expected}", result.Error);

            // A group size the user asked for is never changed behind their back.
            var explicitSize = await Cli.Run("quantize", "--model", tiny.Directory, "--output", output + "-128", "--group-size", "128");
            Assert.Equal(1, explicitSize.ExitCode);
            Assert.Contains("multiple of the group size 128", explicitSize.Error);
        }
        finally
        {
            foreach (string dir in new[] { output, output + "-128" }.Where(Directory.Exists))
                Directory.Delete(dir, recursive: true);
        }
    }

    /// <summary>Option errors System.CommandLine words over several lines still come out as one line, then the help hint.</summary>
    [Fact]
    public async Task A_value_outside_an_options_choices_is_one_line()
    {
        var result = await Cli.Run("bench", "--device", "cpu", "--expert-dispatch", "fast");
        Assert.Equal(1, result.ExitCode);
        string[] lines = result.Error.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(2, lines.Length);
        Assert.Equal("dbrx: error: Argument 'fast' not recognized. Must be one of: 'Auto' 'PerExpert' 'Grouped'", lines[0]);
        Assert.StartsWith("Run 'dbrx bench --help'", lines[1]);
    }

    [Fact]
    public async Task Verbose_adds_the_stack_trace()
    {
        var result = await Cli.Run("info", "--model", "/nonexistent/model", "--verbose");
        Assert.Equal(1, result.ExitCode);
        Assert.Contains("   at ", result.Error);
    }
}
