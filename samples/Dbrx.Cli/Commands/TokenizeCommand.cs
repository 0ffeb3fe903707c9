using System.CommandLine;
using System.Text.Json;
using Dbrx.Inference.Configuration;
using Dbrx.Inference.Tokenization;

namespace Dbrx.Cli.Commands;

/// <summary><c>dbrx tokenize</c> and <c>dbrx detokenize</c>: the tokenizer from the shell.</summary>
internal static class TokenizeCommand
{
    public static Command Tokenize()
    {
        var text = new Option<string>("--text", "-t") { Description = "Text to encode.", Required = true };
        var special = new Option<bool>("--special") { Description = "Recognise special-token text such as <|im_end|> (as the reference tokenizer does); by default it is ordinary text." };
        var model = new Option<DirectoryInfo>("--model", "-m") { Description = "Use this model folder's tokenizer.json or .tiktoken instead of the built-in cl100k_base." };
        var json = new Option<bool>("--json") { Description = "Print a JSON array instead of comma-separated ids." };
        var command = new Command("tokenize", "Encode text with DBRX's tokenizer and print the token ids.") { text, special, model, json };
        command.SetAction(CliAction.Run(parse =>
        {
            DbrxTokenizer tokenizer = TokenizerFor(parse.GetValue(model));
            string input = parse.GetValue(text)!;
            int[] ids = parse.GetValue(special) ? tokenizer.EncodeWithSpecialTokens(input) : tokenizer.Encode(input);
            Console.WriteLine(parse.GetValue(json) ? JsonSerializer.Serialize(ids) : string.Join(",", ids));
            return 0;
        }));
        return command;
    }

    public static Command Detokenize()
    {
        var ids = CliOptions.TokenIds(required: true);
        var skip = new Option<bool>("--skip-special") { Description = "Leave special tokens out of the text." };
        var cleanUp = new Option<bool>("--clean-up-spaces") { Description = "Apply the reference's clean_up_tokenization_spaces (removes spaces before punctuation)." };
        var model = new Option<DirectoryInfo>("--model", "-m") { Description = "Use this model folder's tokenizer files." };
        var command = new Command("detokenize", "Decode token ids to text.") { ids, skip, cleanUp, model };
        command.SetAction(CliAction.Run(parse =>
        {
            DirectoryInfo? folder = parse.GetValue(model);
            DbrxTokenizer tokenizer = TokenizerFor(folder);
            // Ids of the model's padding rows have no text and decode to nothing; ids beyond the model do not exist.
            int vocabulary = (folder is null ? DbrxPresets.Get("dbrx-instruct") : DbrxConfigJson.Load(folder.FullName)).VocabSize;
            long[] given = parse.GetValue(ids)!;
            if (given.FirstOrDefault(id => id >= vocabulary, -1) is var outside and >= 0)
                throw new ArgumentException($"Token id {outside} is outside the model's vocabulary of {vocabulary} ids (0..{vocabulary - 1}).");
            string text = tokenizer.Decode(given.Select(id => (int)id), parse.GetValue(skip));
            Console.WriteLine(parse.GetValue(cleanUp) ? DbrxTokenizer.CleanUpTokenizationSpaces(text) : text);
            return 0;
        }));
        return command;
    }

    private static DbrxTokenizer TokenizerFor(DirectoryInfo? model) =>
        model is null ? DbrxTokenizer.Default : DbrxTokenizer.FromModelFolder(model.FullName);
}
