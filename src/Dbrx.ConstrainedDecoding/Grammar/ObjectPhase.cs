namespace Dbrx.ConstrainedDecoding;

/// <summary>Where an <see cref="ObjectFrame"/> is inside its object: between which bytes, or under which child.</summary>
internal enum ObjectPhase
{
    /// <summary>After <c>{</c>.</summary>
    AfterOpen,

    /// <summary>After a comma: a key must follow.</summary>
    AfterComma,

    /// <summary>A declared key (number <c>Current</c>) is being written above.</summary>
    InDeclaredKey,

    /// <summary>An undeclared key is being written above.</summary>
    InExtraKey,

    /// <summary>After a key: the colon.</summary>
    AfterKey,

    /// <summary>After the colon: the value starts with the next byte.</summary>
    BeforeValue,

    /// <summary>The value is being written above.</summary>
    InValue,

    /// <summary>After a value: a comma or the closing brace.</summary>
    AfterValue,
}
