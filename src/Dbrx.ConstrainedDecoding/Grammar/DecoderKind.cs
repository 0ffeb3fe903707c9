namespace Dbrx.ConstrainedDecoding;

/// <summary>Where a string's bytes are inside one character.</summary>
internal enum DecoderKind
{
    /// <summary>Between characters.</summary>
    Ready,

    /// <summary>Inside a multi-byte UTF-8 character.</summary>
    Utf8,

    /// <summary>
    /// Inside a multi-byte UTF-8 character whose transition is already known (every character its bytes so far can
    /// become leads to the same state, which the frame already holds): only valid continuation bytes remain.
    /// </summary>
    Utf8Settled,

    /// <summary>After a backslash.</summary>
    Escape,

    /// <summary>Inside the hex digits of <c>\u</c>.</summary>
    Hex,

    /// <summary>After a high-surrogate escape, before the backslash of its low half.</summary>
    PairBackslash,

    /// <summary>Before the <c>u</c> of the low half.</summary>
    PairU,

    /// <summary>Inside the low half's hex digits.</summary>
    PairHex,
}
