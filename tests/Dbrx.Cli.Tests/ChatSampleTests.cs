namespace Dbrx.Cli.Tests;

/// <summary>samples/Dbrx.Chat, the README's main command, run as a process: its options and what it shows before the first prompt.</summary>
public sealed class ChatSampleTests(CliTests.TinyCheckpoint tiny) : IClassFixture<CliTests.TinyCheckpoint>
{
    [Theory]
    [InlineData(new[] { "--max-tokens", "abc" }, "Cannot parse argument 'abc' for option '--max-tokens'")]
    [InlineData(new[] { "--modle", "X" }, "Unrecognized command or argument '--modle'")]
    [InlineData(new[] { "--max-tokens", "0" }, "DefaultMaxOutputTokens must be at least 1, not 0")]
    public async Task Bad_options_are_one_line_errors_with_exit_code_1(string[] args, string message)
    {
        var result = await Cli.RunChatSample("", [.. args, "--model", tiny.Directory]);
        Assert.Equal(1, result.ExitCode);
        Assert.StartsWith("Dbrx.Chat: error: ", result.Error);
        Assert.Contains(message, result.Error);
        Assert.DoesNotContain("   at ", result.Error);
    }

    [Fact]
    public async Task Help_lists_the_options()
    {
        var result = await Cli.RunChatSample("", "--help");
        Assert.Equal(0, result.ExitCode);
        Assert.Contains("--model", result.Out);
        Assert.Contains("--device", result.Out);
        Assert.Contains("--max-tokens", result.Out);
    }

    [Fact]
    public async Task The_load_and_its_progress_show_before_the_first_prompt()
    {
        var result = await Cli.RunChatSample("Hello\n/exit\n", "--model", tiny.Directory, "--device", "cpu", "--max-tokens", "3");
        Assert.True(result.ExitCode == 0, result.Error);
        string[] lines = result.Error.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        int loading = Array.FindIndex(lines, l => l == $"loading {tiny.Directory} ...");
        int loaded = Array.FindIndex(lines, l => l.StartsWith($"\rloaded {tiny.Directory} (", StringComparison.Ordinal) || l.StartsWith($"loaded {tiny.Directory} (", StringComparison.Ordinal));
        int banner = Array.FindIndex(lines, l => l.StartsWith("DBRX chat", StringComparison.Ordinal));
        Assert.True(loading >= 0 && loaded > loading && banner > loaded, result.Error);
        Assert.Matches(@"\((\d+)/\1 tensors, [\d.]+ of [\d.]+ GB, cpu\)", lines[loaded]);
        Assert.Contains("dbrx> ", result.Out);
    }
}
