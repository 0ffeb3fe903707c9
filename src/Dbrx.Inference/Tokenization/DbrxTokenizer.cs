using System.Text;
using System.Text.RegularExpressions;

namespace Dbrx.Inference.Tokenization;

/// <summary>
/// DBRX's tokenizer: the GPT-4 tokenizer (tiktoken <c>cl100k_base</c>, its data from the
/// Microsoft.ML.Tokenizers.Data.Cl100kBase package) plus DBRX's special tokens. Works offline with no files; a model
/// folder's own <c>tokenizer.json</c> or <c>.tiktoken</c> file is used instead when present (<see cref="FromModelFolder"/>).
/// </summary>
/// <remarks>
/// <para>Security: <see cref="Encode(string)"/> never produces a special token. Text that looks like one
/// (<c>&lt;|im_end|&gt;</c>) is encoded as ordinary text, so user and tool text cannot forge a turn; only the chat
/// template inserts special ids. <see cref="EncodeWithSpecialTokens"/> exists for tools that need the reference's
/// <c>allowed_special="all"</c> behaviour and must never see untrusted text.</para>
/// <para>Decoding works on bytes: ids that have no text (the unused ids 100256, 100261–100275 and the model's padding
/// rows 100280–100351) decode to nothing, and invalid UTF-8 becomes U+FFFD, as the reference's <c>errors="replace"</c>.
/// Thread-safe.</para>
/// <para>Encoding takes O(n log n) in the text's length whatever the text (Microsoft.ML.Tokenizers' encoder, used
/// before, is quadratic in the length of one pre-token such as a run of one letter or of spaces) and can be
/// cancelled.</para>
/// </remarks>
public sealed class DbrxTokenizer
{
    private static readonly Lazy<DbrxTokenizer> Builtin = new(() => new DbrxTokenizer(TokenVocabulary.Cl100k()));

    private readonly BytePairEncoder encoder;
    private readonly Regex? specialTokenText;
    private readonly byte[]?[] tokenBytes;
    private readonly Dictionary<int, string> specialText;

    private DbrxTokenizer(TokenVocabulary vocabulary)
    {
        tokenBytes = vocabulary.TokenBytes;
        SpecialTokens = vocabulary.SpecialTokens;
        specialText = vocabulary.SpecialTokens.ToDictionary(p => p.Value, p => p.Key);
        Source = vocabulary.Source;
        encoder = new BytePairEncoder(tokenBytes, vocabulary.Pattern);
        // Longest first, so a special token that begins with another is found whole.
        specialTokenText = SpecialTokens.Count == 0 ? null
            : new Regex(string.Join("|", SpecialTokens.Keys.OrderByDescending(text => text.Length).Select(Regex.Escape)), RegexOptions.Compiled);
        VocabularySize = Math.Max(tokenBytes.Length, specialText.Count == 0 ? 0 : specialText.Keys.Max() + 1);
    }

    /// <summary>The built-in tokenizer (cl100k_base and DBRX's special tokens).</summary>
    public static DbrxTokenizer Default => Builtin.Value;

    /// <summary>
    /// The tokenizer of a model folder: its <c>tokenizer.json</c> (byte-level BPE converted from tiktoken), else a
    /// <c>*.tiktoken</c> file (with DBRX's special tokens), else <see cref="Default"/>.
    /// </summary>
    /// <exception cref="FormatException">The folder's tokenizer file cannot be used; the message names it.</exception>
    public static DbrxTokenizer FromModelFolder(string directory)
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        string json = Path.Combine(directory, "tokenizer.json");
        if (File.Exists(json))
            return new DbrxTokenizer(TokenVocabulary.FromTokenizerJson(json));
        string? tiktoken = Directory.Exists(directory) ? Directory.GetFiles(directory, "*.tiktoken").Order().FirstOrDefault() : null;
        if (tiktoken is not null)
        {
            using var stream = File.OpenRead(tiktoken);
            return new DbrxTokenizer(TokenVocabulary.FromTiktoken(stream, DbrxSpecialTokens.ByText, tiktoken));
        }
        return Default;
    }

    /// <summary>Where the vocabulary came from.</summary>
    public string Source { get; }

    /// <summary>Special tokens by text.</summary>
    public IReadOnlyDictionary<string, int> SpecialTokens { get; }

    /// <summary>Ids the tokenizer knows, gaps included (100280 for DBRX: ordinary tokens, then special tokens).</summary>
    public int VocabularySize { get; }

    /// <summary>
    /// The most UTF-8 bytes one token stands for. A text of B bytes needs at least B / this many tokens, which lets a
    /// caller refuse a text that cannot fit a context before encoding it.
    /// </summary>
    public int LongestTokenBytes => encoder.LongestTokenBytes;

    /// <summary>Encodes text as ordinary tokens: special-token text stays text.</summary>
    public int[] Encode(string text) => Encode(text, CancellationToken.None);

    /// <summary>Encodes text as ordinary tokens (special-token text stays text), checking the token as it goes.</summary>
    /// <exception cref="OperationCanceledException">The token was cancelled.</exception>
    public int[] Encode(string text, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(text);
        var ids = new List<int>();
        encoder.Encode(text, ids, cancellationToken);
        return [.. ids];
    }

    /// <summary>
    /// Encodes text recognising special-token text as special ids, as the reference tokenizer does by default.
    /// Never use it on text from users or tools.
    /// </summary>
    public int[] EncodeWithSpecialTokens(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var ids = new List<int>();
        int start = 0;
        if (specialTokenText is not null)
        {
            foreach (ValueMatch special in specialTokenText.EnumerateMatches(text))
            {
                encoder.Encode(text.AsSpan(start, special.Index - start), ids, CancellationToken.None);
                ids.Add(SpecialTokens[text.Substring(special.Index, special.Length)]);
                start = special.Index + special.Length;
            }
        }
        encoder.Encode(text.AsSpan(start), ids, CancellationToken.None);
        return [.. ids];
    }

    /// <summary>The bytes a token stands for: empty for special tokens and ids without text.</summary>
    public ReadOnlySpan<byte> TokenBytes(int id) =>
        id >= 0 && id < tokenBytes.Length && tokenBytes[id] is { } bytes ? bytes : [];

    /// <summary>Whether the id is a special token.</summary>
    public bool IsSpecial(int id) => specialText.ContainsKey(id);

    /// <summary>The text of a special token, or null.</summary>
    public string? SpecialTokenText(int id) => specialText.GetValueOrDefault(id);

    /// <summary>Decodes ids to text.</summary>
    /// <param name="ids">Token ids; ids without text contribute nothing.</param>
    /// <param name="skipSpecialTokens">Leave special tokens out instead of writing their text.</param>
    public string Decode(IEnumerable<int> ids, bool skipSpecialTokens = false)
    {
        ArgumentNullException.ThrowIfNull(ids);
        var decoder = CreateStreamingDecoder(skipSpecialTokens);
        var text = new StringBuilder();
        foreach (int id in ids)
            text.Append(decoder.Append(id));
        return text.Append(decoder.Flush()).ToString();
    }

    /// <summary>A decoder that turns ids into text one at a time without ever splitting a character.</summary>
    public StreamingTokenDecoder CreateStreamingDecoder(bool skipSpecialTokens = true) => new(this, skipSpecialTokens);

    /// <summary>
    /// The reference tokenizer's <c>clean_up_tokenization_spaces</c>: removes the space before punctuation and English
    /// contractions (<c>"LLMs ?"</c> becomes <c>"LLMs?"</c>). Lossy, so never applied unless asked for.
    /// </summary>
    public static string CleanUpTokenizationSpaces(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        return text.Replace(" .", ".").Replace(" ?", "?").Replace(" !", "!").Replace(" ,", ",").Replace(" ' ", "'")
            .Replace(" n't", "n't").Replace(" 'm", "'m").Replace(" 's", "'s").Replace(" 've", "'ve").Replace(" 're", "'re");
    }
}
