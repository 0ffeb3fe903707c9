using System.Text.Json;
using System.Text.Json.Nodes;
using Dbrx.Rag.Retrieval;

namespace Dbrx.Rag.Answering;

/// <summary>
/// The JSON schema of a <see cref="RagAnswer"/> for one set of retrieved passages: each citation is one of the
/// retrieved sources with a chunk id from the enum of that source's retrieved chunks. With constrained decoding the
/// model cannot write a citation to anything that was not retrieved, whatever its weights.
/// </summary>
public static class CitationSchema
{
    /// <summary>Property names as the schema and <see cref="RagAnswer"/>'s JSON have them (camelCase).</summary>
    public static JsonSerializerOptions Json => JsonSerializerOptions.Web;

    /// <summary>The schema for these passages; with none, the citations must be an empty array.</summary>
    public static JsonElement For(IReadOnlyList<Passage> passages)
    {
        ArgumentNullException.ThrowIfNull(passages);
        var citations = new JsonObject { ["type"] = "array" };
        if (passages.Count == 0)
        {
            citations["maxItems"] = 0;
        }
        else
        {
            var bySource = passages.GroupBy(p => p.Source, StringComparer.Ordinal).Select(group => (JsonNode)new JsonObject
            {
                ["type"] = "object",
                ["properties"] = new JsonObject
                {
                    ["source"] = new JsonObject { ["type"] = "string", ["enum"] = new JsonArray(group.Key) },
                    ["chunk"] = new JsonObject { ["type"] = "integer", ["enum"] = new JsonArray([.. group.Select(p => (JsonNode)p.ChunkId).Distinct()]) },
                },
                ["required"] = new JsonArray("source", "chunk"),
            });
            citations["items"] = new JsonObject { ["anyOf"] = new JsonArray([.. bySource]) };
            citations["minItems"] = 1;
            citations["maxItems"] = passages.Count;
        }
        var schema = new JsonObject
        {
            ["type"] = "object",
            ["properties"] = new JsonObject { ["answer"] = new JsonObject { ["type"] = "string" }, ["citations"] = citations },
            ["required"] = new JsonArray("answer", "citations"),
        };
        return JsonSerializer.SerializeToElement(schema);
    }
}
