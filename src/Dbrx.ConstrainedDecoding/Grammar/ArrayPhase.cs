namespace Dbrx.ConstrainedDecoding;

/// <summary>Where an <see cref="ArrayFrame"/> is inside its array: between which bytes, or under an item.</summary>
internal enum ArrayPhase
{
    /// <summary>After <c>[</c>.</summary>
    AfterOpen,

    /// <summary>After a comma: an item must follow.</summary>
    AfterComma,

    /// <summary>An item is being written above.</summary>
    InValue,

    /// <summary>After an item.</summary>
    AfterValue,
}
