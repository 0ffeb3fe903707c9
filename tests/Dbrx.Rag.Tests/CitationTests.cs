using System.Text.Json;
using System.Text.Json.Nodes;
using Dbrx.Rag.Answering;
using Dbrx.Rag.Retrieval;
using Dbrx.Rag.Tests.Support;
using Json.Schema;

namespace Dbrx.Rag.Tests;

public sealed class CitationTests(AnsweringFixture fixture, ITestOutputHelper output) : IClassFixture<AnsweringFixture>
{
    private const int Seeds = 50;

    /// <summary>
    /// 50 seeds on the random model, sampling at temperature 1 (eight conversations at a time, batched by the client):
    /// every structured answer parses, is valid against its schema by an independent validator (JsonSchema.Net), and
    /// cites only passages that its search returned.
    /// </summary>
    [Fact]
    [Trait("Category", "Slow")]
    public async Task Every_structured_answer_parses_and_cites_only_retrieved_passages_over_50_seeds()
    {
        var queries = TestData.Queries();
        int valid = 0, citations = 0;
        var problems = new List<string>();
        using var gate = new SemaphoreSlim(8);
        await Task.WhenAll(Enumerable.Range(0, Seeds).Select(async seed =>
        {
            await gate.WaitAsync(TestContext.Current.CancellationToken);
            try
            {
                var chat = new RagChat(fixture.Client, fixture.Retriever, new RagChatOptions { MaxOutputTokens = 40, Temperature = 1, Seed = seed });
                RagTurn turn = await chat.AskStructuredAsync(queries[seed % queries.Count].Query, TestContext.Current.CancellationToken);
                string json = chat.History[^1].Text;
                string? problem = Check(json, turn.Passages);
                lock (problems)
                {
                    if (problem is null)
                    {
                        valid++;
                        citations += turn.Structured!.Citations.Count;
                    }
                    else
                    {
                        problems.Add($"seed {seed}: {problem}: {json}");
                    }
                }
            }
            finally
            {
                gate.Release();
            }
        }));
        output.WriteLine($"citation validity: {valid}/{Seeds} answers valid, {citations} citations, all to retrieved passages");
        Assert.True(valid == Seeds, string.Join('\n', problems));
    }

    /// <summary>What is wrong with an answer, checked without the code under test: parse, validate, compare ids.</summary>
    private static string? Check(string json, IReadOnlyList<Passage> retrieved)
    {
        JsonNode? node;
        try
        {
            node = JsonNode.Parse(json);
        }
        catch (JsonException e)
        {
            return "does not parse: " + e.Message;
        }
        var schema = JsonSchema.FromText(CitationSchema.For(retrieved).GetRawText());
        if (!schema.Evaluate(node).IsValid)
            return "not valid against its schema";
        foreach (JsonNode? citation in node!["citations"]!.AsArray())
        {
            string source = citation!["source"]!.GetValue<string>();
            long chunk = citation["chunk"]!.GetValue<long>();
            if (!retrieved.Any(p => p.Source == source && p.ChunkId == chunk))
                return $"cites {source} chunk {chunk}, which was not retrieved";
        }
        return null;
    }

    [Fact]
    public void The_schema_allows_retrieved_source_and_chunk_pairs_only()
    {
        Passage[] passages = [new(12, "a.md", "A", "x", 1), new(13, "a.md", "A", "y", 1), new(40, "b.pdf", "page 2", "z", 1)];
        var schema = JsonSchema.FromText(CitationSchema.For(passages).GetRawText());
        bool Valid(string json) => schema.Evaluate(JsonNode.Parse(json)).IsValid;

        Assert.True(Valid("""{"answer":"yes","citations":[{"source":"a.md","chunk":13},{"source":"b.pdf","chunk":40}]}"""));
        Assert.False(Valid("""{"answer":"yes","citations":[{"source":"a.md","chunk":14}]}"""));    // not retrieved
        Assert.False(Valid("""{"answer":"yes","citations":[{"source":"a.md","chunk":40}]}"""));    // another source's chunk
        Assert.False(Valid("""{"answer":"yes","citations":[{"source":"c.md","chunk":12}]}"""));    // not retrieved
        Assert.False(Valid("""{"answer":"yes","citations":[]}"""));                                  // an answer rests on something
        var none = JsonSchema.FromText(CitationSchema.For([]).GetRawText());
        Assert.True(none.Evaluate(JsonNode.Parse("""{"answer":"nothing found","citations":[]}""")).IsValid);
        Assert.False(none.Evaluate(JsonNode.Parse("""{"answer":"x","citations":[{"source":"a.md","chunk":12}]}""")).IsValid);
    }

    [Fact]
    public void Markers_cite_given_passages_in_order_of_first_mention()
    {
        Passage[] passages = [new(3, "a.md", "A", "x", 1), new(7, "b.md", "B", "y", 1)];
        Assert.Equal([passages[1], passages[0]], Citations.Cited("See [7], then [3] and [7] again; [99] and [x] are not passages.", passages));
    }

    [Fact]
    public void Reciprocal_rank_fusion_sums_one_over_k_plus_rank()
    {
        var fused = ReciprocalRankFusion.Fuse([[1, 2, 3], [3, 4]], k: 60);
        // 3: 1/63 + 1/61; 1: 1/61; 2: 1/62; 4: 1/62 (ties keep first appearance: 2 before 4).
        Assert.Equal([3L, 1, 2, 4], fused.Select(f => f.Id));
        Assert.Equal(1.0 / 63 + 1.0 / 61, fused[0].Score, 12);
        Assert.Equal(1.0 / 62, fused[3].Score, 12);
    }
}
