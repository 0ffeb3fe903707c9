using System.Text;

namespace Dbrx.Inference.Tokenization;

/// <summary>
/// Turns token ids into text one id at a time for streaming. A character whose UTF-8 bytes span several tokens is
/// held back until it is complete, so no broken character is ever emitted, and the concatenated output equals a
/// one-shot <see cref="DbrxTokenizer.Decode"/> of the same ids. Not thread-safe: one per stream.
/// </summary>
public sealed class StreamingTokenDecoder
{
    private readonly DbrxTokenizer tokenizer;
    private readonly bool skipSpecialTokens;
    private readonly Decoder utf8 = new UTF8Encoding(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: false).GetDecoder();
    private char[] chars = new char[64];

    internal StreamingTokenDecoder(DbrxTokenizer tokenizer, bool skipSpecialTokens)
    {
        this.tokenizer = tokenizer;
        this.skipSpecialTokens = skipSpecialTokens;
    }

    /// <summary>Adds one id and returns the text that became complete (often empty mid-character).</summary>
    public string Append(int id)
    {
        if (tokenizer.SpecialTokenText(id) is { } special)
            return skipSpecialTokens ? "" : Flush() + special;
        return Decode(tokenizer.TokenBytes(id), flush: false);
    }

    /// <summary>Ends the stream: bytes of an unfinished character become U+FFFD.</summary>
    public string Flush() => Decode([], flush: true);

    private string Decode(ReadOnlySpan<byte> bytes, bool flush)
    {
        int needed = utf8.GetCharCount(bytes, flush);
        if (needed > chars.Length)
            chars = new char[Math.Max(needed, chars.Length * 2)];
        int written = utf8.GetChars(bytes, chars, flush);
        return written == 0 ? "" : new string(chars, 0, written);
    }
}
