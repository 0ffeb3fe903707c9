using System.Text.Json.Nodes;
using Dbrx.Inference.Tokenization;

namespace Dbrx.Inference.Tests.Support;

/// <summary>Writes a Hugging Face byte-level BPE tokenizer.json from a tokenizer's vocabulary, as converters from tiktoken do.</summary>
internal static class TokenizerJsonWriter
{
    public static void Write(string path, DbrxTokenizer source, (string Text, int Id) extraSpecial)
    {
        var alphabet = ByteToUnicode();
        var vocab = new JsonObject();
        for (int id = 0; id < source.VocabularySize; id++)
        {
            var bytes = source.TokenBytes(id);
            if (bytes.Length == 0)
                continue;
            vocab[string.Concat(bytes.ToArray().Select(b => alphabet[b]))] = id;
        }
        var added = new JsonArray();
        foreach (var (text, id) in source.SpecialTokens.Append(new KeyValuePair<string, int>(extraSpecial.Text, extraSpecial.Id)))
            added.Add(new JsonObject { ["id"] = id, ["content"] = text, ["special"] = true });
        var root = new JsonObject
        {
            ["added_tokens"] = added,
            ["pre_tokenizer"] = new JsonObject
            {
                ["type"] = "Sequence",
                ["pretokenizers"] = new JsonArray(
                    new JsonObject { ["type"] = "Split", ["pattern"] = new JsonObject { ["Regex"] = @"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+" } },
                    new JsonObject { ["type"] = "ByteLevel" }),
            },
            ["model"] = new JsonObject { ["type"] = "BPE", ["vocab"] = vocab, ["merges"] = new JsonArray() },
        };
        File.WriteAllText(path, root.ToJsonString());
    }

    private static char[] ByteToUnicode()
    {
        var map = new char[256];
        int next = 0;
        for (int b = 0; b < 256; b++)
        {
            bool printable = b is >= '!' and <= '~' or >= 0xA1 and <= 0xAC or >= 0xAE and <= 0xFF;
            map[b] = printable ? (char)b : (char)(256 + next++);
        }
        return map;
    }
}
