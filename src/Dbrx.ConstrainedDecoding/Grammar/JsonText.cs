using System.Text.Encodings.Web;
using System.Text.Json;

namespace Dbrx.ConstrainedDecoding;

/// <summary>Compact JSON text: how values and characters are written by the constraint and in its completions.</summary>
internal static class JsonText
{
    private static readonly JsonSerializerOptions Compact = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>A value as compact UTF-8 JSON (the form enum and const values must take).</summary>
    public static byte[] Serialize(JsonElement value) => JsonSerializer.SerializeToUtf8Bytes(value, Compact);

    /// <summary>A string as a compact UTF-8 JSON literal, quotes included.</summary>
    public static byte[] Serialize(string value) => JsonSerializer.SerializeToUtf8Bytes(value, Compact);

    /// <summary>Bytes of a code point inside a JSON string: escaped where JSON requires it, else UTF-8.</summary>
    public static int EncodedLength(int codePoint) => codePoint switch
    {
        '"' or '\\' or '\b' or '\f' or '\n' or '\r' or '\t' => 2,
        < 0x20 => 6,
        < 0x80 => 1,
        < 0x800 => 2,
        < 0x10000 => 3,
        _ => 4,
    };

    /// <summary>Appends a code point as JSON string content.</summary>
    public static void AppendChar(int codePoint, List<byte> output)
    {
        switch (codePoint)
        {
            case '"' or '\\':
                output.Add((byte)'\\');
                output.Add((byte)codePoint);
                return;
            case '\b': output.AddRange("\\b"u8); return;
            case '\f': output.AddRange("\\f"u8); return;
            case '\n': output.AddRange("\\n"u8); return;
            case '\r': output.AddRange("\\r"u8); return;
            case '\t': output.AddRange("\\t"u8); return;
            case < 0x20:
                output.AddRange(System.Text.Encoding.ASCII.GetBytes($"\\u{codePoint:x4}"));
                return;
        }
        Span<byte> buffer = stackalloc byte[4];
        int length = new System.Text.Rune(codePoint).EncodeToUtf8(buffer);
        for (int i = 0; i < length; i++)
            output.Add(buffer[i]);
    }
}
