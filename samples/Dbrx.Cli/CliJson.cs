using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Dbrx.Cli;

/// <summary>How the commands print JSON: readable (no \u escapes for '+', quotes or non-ASCII text) and valid.</summary>
internal static class CliJson
{
    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };
    private static readonly JsonSerializerOptions Compact = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public static string Format(JsonNode node, bool indented = true) => node.ToJsonString(indented ? Indented : Compact);
}
