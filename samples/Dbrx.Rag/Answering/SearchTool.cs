using System.ComponentModel;
using Dbrx.Rag.Retrieval;
using Microsoft.Extensions.AI;

namespace Dbrx.Rag.Answering;

/// <summary>
/// The <c>search</c> tool of one question, as the AI Chat Web App template has it: the model calls it through
/// <see cref="FunctionInvokingChatClient"/> with words to look for, and gets the best passages back, cut to what the
/// context holds. It searches for the question as well as for the model's words and fuses the two rankings, so a weak
/// model's poor query still finds the question's passages. The passages it returned are kept for the citations.
/// </summary>
internal sealed class SearchTool
{
    public const string Name = "search";

    // The same for every question: the tool list is part of the system turn, whose cached prefix follow-ups reuse.
    private const string Description = "Searches the user's documents and returns the best passages, each headed by its number in brackets, its source and its location.";

    private readonly RagRetriever retriever;
    private readonly string question;
    private readonly Func<IReadOnlyList<Passage>, FunctionInvocationContext, int> promptTokens;
    private readonly int limit;
    private readonly bool endAfterSearch;

    /// <param name="retriever">Where passages come from.</param>
    /// <param name="question">The user's question, searched for with the model's words.</param>
    /// <param name="promptTokens">The length of the next prompt if the tool returned these passages.</param>
    /// <param name="limit">Most tokens that prompt may have.</param>
    /// <param name="endAfterSearch">End the function-invocation loop once the results are in (the caller asks for the answer itself).</param>
    public SearchTool(RagRetriever retriever, string question, Func<IReadOnlyList<Passage>, FunctionInvocationContext, int> promptTokens, int limit, bool endAfterSearch)
    {
        this.retriever = retriever;
        this.question = question;
        this.promptTokens = promptTokens;
        this.limit = limit;
        this.endAfterSearch = endAfterSearch;
        Function = AIFunctionFactory.Create(SearchAsync, Name, Description);
    }

    public AIFunction Function { get; }

    /// <summary>Every passage returned so far, in order, without repeats.</summary>
    public List<Passage> Retrieved { get; } = [];

    private async Task<string> SearchAsync([Description("Words to look for in the documents.")] string query, CancellationToken cancellationToken)
    {
        FunctionInvocationContext context = FunctionInvokingChatClient.CurrentContext
            ?? throw new InvalidOperationException("The search tool runs through FunctionInvokingChatClient (UseFunctionInvocation).");
        IReadOnlyList<Passage> found = await retriever.SearchAsync([question, query], cancellationToken: cancellationToken);
        IReadOnlyList<Passage> fitted = ContextBudget.Fit(found, passages => promptTokens(passages, context), limit);
        foreach (Passage passage in fitted)
            if (!Retrieved.Any(p => p.ChunkId == passage.ChunkId))
                Retrieved.Add(passage);
        if (endAfterSearch)
            context.Terminate = true;
        return PassageFormatter.Format(fitted);
    }

    /// <summary>The tool message the function-invocation loop adds for this call's result.</summary>
    public static ChatMessage ResultMessage(FunctionInvocationContext context, IReadOnlyList<Passage> passages) =>
        new(ChatRole.Tool, [new FunctionResultContent(context.CallContent.CallId, PassageFormatter.Format(passages))]);
}
