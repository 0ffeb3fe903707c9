using System.IO.Compression;
using System.Reflection;
using System.Text;
using System.Text.Json;

namespace Dbrx.Inference.Tokenization;

/// <summary>
/// A byte-level BPE vocabulary in tiktoken form: the bytes of every ordinary token, indexed by id (= merge rank),
/// plus special tokens and the pre-tokenizer pattern. Read from cl100k's data package, a <c>.tiktoken</c> file, or a
/// Hugging Face <c>tokenizer.json</c> converted from tiktoken (GPT-2 byte-to-unicode alphabet).
/// </summary>
internal sealed class TokenVocabulary
{
    /// <summary>cl100k_base's pre-tokenizer pattern (the "GPT-4" split).</summary>
    public const string Cl100kPattern = @"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";

    private TokenVocabulary(byte[]?[] tokenBytes, IReadOnlyDictionary<string, int> specialTokens, string pattern, string source)
    {
        TokenBytes = tokenBytes;
        SpecialTokens = specialTokens;
        Pattern = pattern;
        Source = source;
    }

    /// <summary>Bytes of each ordinary token by id; null for ids that are not ordinary tokens.</summary>
    public byte[]?[] TokenBytes { get; }

    /// <summary>Special tokens by text.</summary>
    public IReadOnlyDictionary<string, int> SpecialTokens { get; }

    /// <summary>The pre-tokenizer regular expression.</summary>
    public string Pattern { get; }

    /// <summary>Where the vocabulary came from, for messages.</summary>
    public string Source { get; }

    /// <summary>cl100k_base from the Microsoft.ML.Tokenizers.Data.Cl100kBase package, with DBRX's special tokens.</summary>
    public static TokenVocabulary Cl100k()
    {
        var assembly = Assembly.Load("Microsoft.ML.Tokenizers.Data.Cl100kBase");
        using Stream compressed = assembly.GetManifestResourceStream("cl100k_base.tiktoken.deflate")
            ?? throw new InvalidOperationException("The cl100k_base data is missing from Microsoft.ML.Tokenizers.Data.Cl100kBase.");
        using var inflated = new DeflateStream(compressed, CompressionMode.Decompress);
        return FromTiktoken(inflated, DbrxSpecialTokens.ByText, "cl100k_base (built in)");
    }

    /// <summary>
    /// Reads a <c>.tiktoken</c> file: one <c>base64 rank</c> pair per line, or (the compact form of the data package,
    /// after a <c>Capacity: N</c> line) one base64 token per line whose rank is its position.
    /// </summary>
    public static TokenVocabulary FromTiktoken(Stream stream, IReadOnlyDictionary<string, int> specialTokens, string source)
    {
        var tokens = new List<byte[]?>();
        using var reader = new StreamReader(stream, Encoding.ASCII);
        int lineNumber = 0;
        while (reader.ReadLine() is { } line)
        {
            lineNumber++;
            if (line.Length == 0 || line.StartsWith("Capacity:", StringComparison.Ordinal))
                continue;
            int space = line.IndexOf(' ');
            int rank = tokens.Count;
            if (space < 0)
                space = line.Length;
            else if (!int.TryParse(line.AsSpan(space + 1), out rank) || rank < 0)
                throw new FormatException($"{source}, line {lineNumber}: expected 'base64 rank'.");
            byte[] bytes;
            try
            {
                bytes = Convert.FromBase64String(line[..space]);
            }
            catch (FormatException e)
            {
                throw new FormatException($"{source}, line {lineNumber}: the token is not base64.", e);
            }
            while (tokens.Count <= rank)
                tokens.Add(null);
            tokens[rank] = bytes;
        }
        return new TokenVocabulary([.. tokens], specialTokens, Cl100kPattern, source);
    }

    /// <summary>
    /// Reads a Hugging Face <c>tokenizer.json</c> whose model is byte-level BPE converted from tiktoken (as DBRX's hub
    /// revision is): ids are ranks, token strings use GPT-2's byte-to-unicode alphabet, added tokens marked special
    /// become special tokens, and a <c>Split</c> pre-tokenizer's regex replaces cl100k's when present.
    /// </summary>
    public static TokenVocabulary FromTokenizerJson(string path)
    {
        using var document = JsonDocument.Parse(File.ReadAllBytes(path));
        JsonElement root = document.RootElement;
        if (!root.TryGetProperty("model", out JsonElement model) || !model.TryGetProperty("vocab", out JsonElement vocab) || vocab.ValueKind != JsonValueKind.Object)
            throw new FormatException($"'{path}' has no model.vocab object; only byte-level BPE tokenizer.json files are supported.");
        if (model.TryGetProperty("type", out JsonElement type) && type.GetString() is { } kind && kind != "BPE")
            throw new FormatException($"'{path}' is a {kind} tokenizer; only byte-level BPE is supported.");

        Dictionary<char, byte> unicodeToByte = ByteLevelAlphabet();
        var tokens = new List<byte[]?>();
        foreach (JsonProperty entry in vocab.EnumerateObject())
        {
            int id = entry.Value.GetInt32();
            var bytes = new byte[entry.Name.Length];
            for (int i = 0; i < entry.Name.Length; i++)
            {
                if (!unicodeToByte.TryGetValue(entry.Name[i], out bytes[i]))
                    throw new FormatException($"'{path}': token '{entry.Name}' is not in the byte-level alphabet.");
            }
            while (tokens.Count <= id)
                tokens.Add(null);
            tokens[id] = bytes;
        }

        var specials = new Dictionary<string, int>();
        if (root.TryGetProperty("added_tokens", out JsonElement added) && added.ValueKind == JsonValueKind.Array)
        {
            foreach (JsonElement token in added.EnumerateArray())
            {
                if (token.TryGetProperty("special", out JsonElement special) && special.ValueKind == JsonValueKind.True)
                {
                    int id = token.GetProperty("id").GetInt32();
                    specials[token.GetProperty("content").GetString()!] = id;
                    if (id < tokens.Count)
                        tokens[id] = null;
                }
            }
        }
        return new TokenVocabulary([.. tokens], specials, FindSplitPattern(root) ?? Cl100kPattern, path);
    }

    private static string? FindSplitPattern(JsonElement root)
    {
        if (!root.TryGetProperty("pre_tokenizer", out JsonElement pre) || pre.ValueKind != JsonValueKind.Object)
            return null;
        IEnumerable<JsonElement> steps = pre.TryGetProperty("pretokenizers", out JsonElement list) && list.ValueKind == JsonValueKind.Array
            ? list.EnumerateArray()
            : [pre];
        foreach (JsonElement step in steps)
        {
            if (step.TryGetProperty("type", out JsonElement t) && t.GetString() == "Split"
                && step.TryGetProperty("pattern", out JsonElement pattern) && pattern.TryGetProperty("Regex", out JsonElement regex))
                return regex.GetString();
        }
        return null;
    }

    /// <summary>GPT-2's reversible mapping of the 256 byte values to printable characters, inverted.</summary>
    private static Dictionary<char, byte> ByteLevelAlphabet()
    {
        var printable = Enumerable.Range('!', '~' - '!' + 1).Concat(Enumerable.Range('¡', '¬' - '¡' + 1)).Concat(Enumerable.Range('®', 'ÿ' - '®' + 1)).ToHashSet();
        var map = new Dictionary<char, byte>();
        int next = 0;
        for (int b = 0; b < 256; b++)
            map[(char)(printable.Contains(b) ? b : 256 + next++)] = (byte)b;
        return map;
    }
}
