using System.Text.Json;
using Dbrx.Inference.Checkpoints;
using Dbrx.Inference.Modeling;
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
        Assert.Equal(DbrxTensorLayout.For(Inference.Configuration.DbrxPresets.Tiny).Sum(s => s.Shape.Aggregate(1L, (a, b) => a * b)), json.RootElement.GetProperty("parameters").GetInt64());
    }

    [Fact]
    public async Task Logits_on_the_golden_case_match_the_reference()
    {
        string output = Path.Combine(tiny.Directory, "..", Guid.NewGuid().ToString("N") + ".safetensors");
        try
        {
            var result = await Cli.Run("logits", "--model", Cli.GoldenModel, "--token-ids", "5,17,200,3,511,0,42", "--device", "cpu", "--output", output);
            Assert.True(result.ExitCode == 0, result.Error);
            using var file = SafetensorsFile.Open(output);
            using var logits = file.Read("logits");
            Assert.Equal(new long[] { 1, 7, 512 }, logits.shape);
            using var model = DbrxModelLoader.Load(Cli.GoldenModel, new DbrxLoadOptions { Device = "cpu", DType = "float32", AttentionImplementation = AttentionImplementation.Eager });
            using var ids = tensor(new long[] { 5, 17, 200, 3, 511, 0, 42 }, [1, 7], ScalarType.Int64);
            using var expected = model.Forward(ids);
            Assert.True(expected.Logits.allclose(logits, rtol: 0, atol: 1e-4));
        }
        finally
        {
            File.Delete(output);
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

    [Theory]
    [InlineData(new[] { "info", "--model", "/nonexistent/model" }, "dbrx: error: '/nonexistent/model' does not exist")]
    [InlineData(new[] { "generate", "--model", "GOLDEN", "--prompt", "Hello" }, "outside the model's vocabulary of 512 ids")]
    [InlineData(new[] { "generate", "--model", "GOLDEN", "--token-ids", "1,2", "--top-p", "0" }, "TopP must be in (0, 1], not 0")]
    [InlineData(new[] { "logits", "--model", "GOLDEN", "--token-ids", "1,x", "--output", "/tmp/never.safetensors" }, "'x' is not a token id")]
    [InlineData(new[] { "logits", "--model", "GOLDEN", "--token-ids", "1,512", "--output", "/tmp/never.safetensors" }, "Token id 512 is outside the model's vocabulary of 512 ids")]
    [InlineData(new[] { "init", "--preset", "dbrx-instruct", "--output", "/tmp/dbrx-cli-never" }, "This checkpoint needs")]
    [InlineData(new[] { "generate", "--model", "GOLDEN", "--token-ids", "1", "--device", "cuda:7" }, "Device 'cuda:7'")]
    [InlineData(new[] { "info", "--preset", "tiny", "--gpu-memory", "lots" }, "--gpu-memory 'lots' is not a size")]
    public async Task Errors_are_one_line_on_stderr_with_a_non_zero_exit_and_no_stack_trace(string[] args, string message)
    {
        var result = await Cli.Run(args.Select(a => a == "GOLDEN" ? Cli.GoldenModel : a).ToArray());
        Assert.Equal(1, result.ExitCode);
        Assert.Contains(message, result.Error);
        Assert.DoesNotContain("   at ", result.Error);
        Assert.StartsWith("dbrx: error: ", result.Error);
    }

    [Fact]
    public async Task Verbose_adds_the_stack_trace()
    {
        var result = await Cli.Run("info", "--model", "/nonexistent/model", "--verbose");
        Assert.Equal(1, result.ExitCode);
        Assert.Contains("   at ", result.Error);
    }
}
