using System.Text.Json;

namespace Dbrx.ConstrainedDecoding;

/// <summary>A subschema: its element and where it is (a JSON pointer, for messages and to recognise it again).</summary>
internal readonly record struct SchemaLocation(JsonElement Element, string Path);
