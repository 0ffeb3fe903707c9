namespace Dbrx.ConstrainedDecoding;

/// <summary>The JSON types a schema allows. <see cref="Number"/> is the integers and the other numbers.</summary>
[Flags]
internal enum JsonTypes
{
    None = 0,
    Null = 1,
    Boolean = 2,
    Object = 4,
    Array = 8,
    String = 16,
    Integer = 32,
    NonInteger = 64,
    Number = NonInteger | Integer,
    All = Null | Boolean | Object | Array | String | Number,
}
