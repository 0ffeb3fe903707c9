using System.Text;

namespace Dbrx.Rag.Ingestion;

/// <summary>Strict UTF-8 decoding: a file that is not text is reported, not indexed as replacement characters.</summary>
internal static class Utf8
{
    private static readonly UTF8Encoding Strict = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    public static string Decode(byte[] content)
    {
        try
        {
            string text = Strict.GetString(content);
            return text.Length > 0 && text[0] == '\uFEFF' ? text[1..] : text;
        }
        catch (DecoderFallbackException e)
        {
            throw new InvalidDataException($"it is not UTF-8 text (invalid byte at offset {e.Index}).", e);
        }
    }
}
