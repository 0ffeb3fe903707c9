using System.Text;
using System.Text.RegularExpressions;
using Dbrx.Inference.Tokenization;

namespace Dbrx.Rag.Ingestion;

/// <summary>
/// Cuts a document's blocks into chunks that follow its structure: a chunk never spans two sections (headings or
/// pages); within a section, blocks are packed whole while they fit <see cref="ChunkerOptions.MaxTokens"/> (counted
/// with the DBRX tokenizer), a longer block is cut between sentences (prose) or lines (code, lists, tables), a
/// sentence or line longer than a chunk between words, and a word longer than a chunk (a base64 image, a minified
/// line) between its tokens. Every chunk holds at most <see cref="ChunkerOptions.MaxTokens"/> tokens. Each chunk
/// after the first of a section starts with the last sentences of the one before, up to
/// <see cref="ChunkerOptions.OverlapTokens"/>. Text is encoded about once, however long a line is.
/// </summary>
public sealed partial class Chunker
{
    private readonly DbrxTokenizer tokenizer;
    private readonly ChunkerOptions options;

    /// <summary>Creates a chunker.</summary>
    public Chunker(DbrxTokenizer tokenizer, ChunkerOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(tokenizer);
        this.tokenizer = tokenizer;
        this.options = options ?? new ChunkerOptions();
        this.options.Validate();
    }

    /// <summary>Cuts the blocks of one document into chunks, in document order.</summary>
    public IReadOnlyList<Chunk> Split(IReadOnlyList<TextBlock> blocks)
    {
        ArgumentNullException.ThrowIfNull(blocks);
        var chunks = new List<Chunk>();
        for (int start = 0; start < blocks.Count;)
        {
            int end = start;
            while (end < blocks.Count && blocks[end].Section == blocks[start].Section)
                end++;
            PackSection(blocks.Skip(start).Take(end - start).SelectMany(Units).ToList(), blocks[start].Section, chunks);
            start = end;
        }
        return chunks;
    }

    /// <summary>A sentence or line, with what joins it to the unit before it, and its token count with that joint.</summary>
    private sealed record Unit(string Joint, string Text, int Line, int Tokens);

    private void PackSection(List<Unit> units, string? section, List<Chunk> chunks)
    {
        var current = new List<Unit>();
        int fresh = 0;   // units of the current chunk not carried over from the previous one
        var pending = new Queue<Unit>(units);
        while (pending.Count > 0)
        {
            Unit unit = pending.Dequeue();
            if (fresh > 0 && current.Sum(u => u.Tokens) + unit.Tokens > options.MaxTokens)
            {
                Emit(current, section, chunks);
                current = Overlap(current);
                fresh = 0;
            }
            if (fresh == 0 && current.Sum(u => u.Tokens) + unit.Tokens > options.MaxTokens)
                current.Clear();   // the overlap and this unit do not fit together: the unit goes alone
            current.Add(unit);
            fresh++;
        }
        if (fresh > 0)
            Emit(current, section, chunks);
    }

    private void Emit(List<Unit> units, string? section, List<Chunk> chunks)
    {
        string text = Join(units);
        string location = section ?? $"line {units[0].Line}";
        chunks.Add(new Chunk(chunks.Count, location, text, tokenizer.Encode(text).Length));
    }

    /// <summary>The trailing units of a chunk that fit the overlap budget, as the start of the next one.</summary>
    private List<Unit> Overlap(List<Unit> units)
    {
        var tail = new List<Unit>();
        int tokens = 0;
        for (int i = units.Count - 1; i > 0 && tokens + units[i].Tokens <= options.OverlapTokens; i--)
        {
            tail.Insert(0, units[i]);
            tokens += units[i].Tokens;
        }
        return tail;
    }

    private static string Join(List<Unit> units)
    {
        var text = new StringBuilder(units[0].Text);
        for (int i = 1; i < units.Count; i++)
            text.Append(units[i].Joint).Append(units[i].Text);
        return text.ToString();
    }

    /// <summary>A block's sentences (prose) or lines, each cut between words when longer than a chunk.</summary>
    private IEnumerable<Unit> Units(TextBlock block)
    {
        bool prose = block.Kind == TextBlockKind.Prose;
        string[] parts = prose ? SentenceEnd().Split(block.Text) : block.Text.ReplaceLineEndings("\n").Split('\n');
        string inner = prose ? " " : "\n";
        for (int i = 0; i < parts.Length; i++)
        {
            string joint = i == 0 ? "\n\n" : inner;
            int line = block.Line == 0 ? 0 : block.Line + (prose ? 0 : i);
            // A part with more UTF-8 bytes than a chunk's tokens could hold, at the longest token, is not encoded whole.
            if (Encoding.UTF8.GetByteCount(parts[i]) <= (long)options.MaxTokens * tokenizer.LongestTokenBytes)
            {
                int tokens = tokenizer.Encode(joint + parts[i]).Length;
                if (tokens + 2 <= options.MaxTokens)
                {
                    yield return new Unit(joint, parts[i], line, tokens);
                    continue;
                }
            }
            foreach (var (piece, count) in CutBetweenWords(parts[i]))
            {
                yield return new Unit(joint, piece, line, count);
                joint = inner;
            }
        }
    }

    /// <summary>Text longer than a chunk, cut between words into pieces that fit, with their token counts.</summary>
    private IEnumerable<(string Piece, int Tokens)> CutBetweenWords(string text)
    {
        var piece = new StringBuilder();
        int tokens = 0;
        foreach (string word in text.Split(' ', StringSplitOptions.RemoveEmptyEntries))
        {
            // The tokenizer splits text before each word, so a word's tokens (with its space) add up.
            int[] ids = tokenizer.Encode(" " + word);
            int count = ids.Length;
            if (count + 2 > options.MaxTokens)
            {
                // A word no chunk can hold: what is gathered goes first, then the word in pieces of whole tokens.
                if (piece.Length > 0)
                    yield return (piece.ToString(), tokens);
                piece.Clear();
                tokens = 0;
                foreach (var cut in CutBetweenTokens(ids))
                    yield return cut;
                continue;
            }
            if (piece.Length > 0 && tokens + count + 2 > options.MaxTokens)
            {
                yield return (piece.ToString(), tokens);
                piece.Clear();
                tokens = 0;
            }
            if (piece.Length > 0)
                piece.Append(' ');
            piece.Append(word);
            tokens += count;
        }
        if (piece.Length > 0)
            yield return (piece.ToString(), tokens);
    }

    /// <summary>
    /// A word's tokens in pieces of at most a chunk's worth (less the joint's), each ending on a whole character, with
    /// the pieces' own token counts (encoded again: where a piece starts, the tokenizer may merge differently).
    /// </summary>
    private IEnumerable<(string Piece, int Tokens)> CutBetweenTokens(int[] ids)
    {
        for (int start = 0, room = options.MaxTokens - 2; start < ids.Length;)
        {
            int end = Math.Min(ids.Length, start + room);
            byte[] bytes = BytesOf(ids, start, end);
            // A character split between two tokens goes whole into one piece: end earlier, or, for a piece of one
            // token, later.
            while (end - start > 1 && IncompleteTail(bytes) > 0)
                bytes = BytesOf(ids, start, --end);
            while (end < ids.Length && IncompleteTail(bytes) > 0)
                bytes = BytesOf(ids, start, ++end);
            string piece = Encoding.UTF8.GetString(bytes).Trim();
            int count = piece.Length == 0 ? 0 : tokenizer.Encode(" " + piece).Length;
            if (count + 2 > options.MaxTokens && end - start > 1)
            {
                room = Math.Max(1, end - start - (count + 2 - options.MaxTokens));
                continue;
            }
            if (piece.Length > 0)
                yield return (piece, count);
            start = end;
            room = options.MaxTokens - 2;
        }
    }

    private byte[] BytesOf(int[] ids, int start, int end)
    {
        var bytes = new List<byte>();
        for (int i = start; i < end; i++)
            bytes.AddRange(tokenizer.TokenBytes(ids[i]));
        return [.. bytes];
    }

    /// <summary>Bytes at the end that start a UTF-8 character without finishing it (0 when the text ends whole).</summary>
    private static int IncompleteTail(byte[] bytes)
    {
        for (int back = 1; back <= Math.Min(4, bytes.Length); back++)
        {
            byte b = bytes[^back];
            if ((b & 0xC0) == 0x80)
                continue;   // a continuation byte: its lead is further back
            int length = b < 0x80 ? 1 : b >= 0xF0 ? 4 : b >= 0xE0 ? 3 : 2;
            return length > back ? back : 0;
        }
        return 0;
    }

    [GeneratedRegex(@"(?<=[.!?])\s+(?=\S)")]
    private static partial Regex SentenceEnd();
}
