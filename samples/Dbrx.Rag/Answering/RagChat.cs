using Dbrx.Extensions.AI;
using Dbrx.Rag.Retrieval;
using Microsoft.Extensions.AI;

namespace Dbrx.Rag.Answering;

/// <summary>
/// A conversation about the documents, answered the AI Chat Web App template's way: the model gets a <c>search</c>
/// tool (required on each question's first call, since the answer must rest on passages; the function-invocation loop
/// then lets the model answer or search again) and answers from what it returns, as streamed text with <c>[n]</c>
/// markers or as a structured <see cref="RagAnswer"/> whose citations the schema restricts to the passages retrieved.
/// </summary>
/// <remarks>
/// The system turn (instructions, then the tool list) is the same for every question, so a follow-up starts from the
/// cached keys and values of the earlier turns (reported as <c>UsageDetails.CachedInputTokenCount</c>). Passages are cut
/// to what fits the context with the answer (<see cref="ContextBudget"/>), and the oldest exchanges are left out once
/// the history would take more than half of the room, so a question never fails for length. Not thread-safe: one
/// question at a time per conversation (a client serves many conversations at once).
/// </remarks>
public sealed class RagChat
{
    private readonly IChatClient client;
    private readonly DbrxChatClient dbrx;
    private readonly RagRetriever retriever;
    private readonly RagChatOptions options;
    private readonly List<ChatMessage> history = [];

    /// <summary>Creates a conversation.</summary>
    /// <param name="client">A pipeline with function invocation (<c>UseFunctionInvocation()</c>) over a <see cref="DbrxChatClient"/>.</param>
    /// <param name="retriever">Where passages come from.</param>
    /// <param name="options">Instructions, answer length, sampling.</param>
    /// <exception cref="ArgumentException">The pipeline lacks function invocation or a DBRX client.</exception>
    public RagChat(IChatClient client, RagRetriever retriever, RagChatOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(client);
        ArgumentNullException.ThrowIfNull(retriever);
        if (client.GetService<FunctionInvokingChatClient>() is null)
            throw new ArgumentException("RagChat needs a chat client with function invocation: build it with .UseFunctionInvocation().", nameof(client));
        this.client = client;
        dbrx = client.GetService<DbrxChatClient>() ?? throw new ArgumentException("RagChat needs a DbrxChatClient in the pipeline: it counts prompt tokens with it.", nameof(client));
        this.retriever = retriever;
        this.options = options ?? new RagChatOptions();
        this.options.Validate();
    }

    /// <summary>The conversation so far: questions, search calls and results, answers.</summary>
    public IReadOnlyList<ChatMessage> History => history;

    /// <summary>Forgets the conversation.</summary>
    public void Reset() => history.Clear();

    /// <summary>Most prompt tokens of a request: the context less the answer.</summary>
    private int PromptLimit => dbrx.ContextLength - options.MaxOutputTokens;

    /// <summary>Answers a question as streamed text; each piece goes to <paramref name="onText"/> as it comes.</summary>
    /// <exception cref="OperationCanceledException">Cancelled; the conversation is left as it was before the question.</exception>
    public async Task<RagTurn> AskAsync(string question, Action<string>? onText = null, CancellationToken cancellationToken = default)
    {
        List<ChatMessage> messages = Start(question);
        SearchTool tool = null!;
        // After the search the loop asks again with the tool mode reset to auto (as FunctionInvokingChatClient does).
        tool = new SearchTool(retriever, question, (passages, context) =>
            dbrx.CountPromptTokens([.. context.Messages, SearchTool.ResultMessage(context, passages)], SearchOptions(tool, required: false)), PromptLimit, endAfterSearch: false);
        var updates = new List<ChatResponseUpdate>();
        await foreach (ChatResponseUpdate update in client.GetStreamingResponseAsync(messages, SearchOptions(tool, required: true), cancellationToken))
        {
            updates.Add(update);
            if (update.Text.Length > 0)
                onText?.Invoke(update.Text);
        }
        ChatResponse response = updates.ToChatResponse();
        string answer = response.Messages.LastOrDefault(m => m.Role == ChatRole.Assistant)?.Text ?? "";
        history.AddRange([messages[^1], .. response.Messages]);
        return new RagTurn(answer, tool.Retrieved, Citations.Cited(answer, tool.Retrieved), response.Usage);
    }

    /// <summary>
    /// Answers a question as a <see cref="RagAnswer"/>: the model searches (required), then writes JSON constrained to a
    /// schema whose citations can only name the passages that search returned.
    /// </summary>
    /// <exception cref="OperationCanceledException">Cancelled; the conversation is left as it was before the question.</exception>
    public async Task<RagTurn> AskStructuredAsync(string question, CancellationToken cancellationToken = default)
    {
        List<ChatMessage> messages = Start(question);
        var tool = new SearchTool(retriever, question, (passages, context) =>
            dbrx.CountPromptTokens([.. context.Messages, SearchTool.ResultMessage(context, passages)], AnswerOptions(passages)), PromptLimit, endAfterSearch: true);
        ChatResponse search = await client.GetResponseAsync(messages, SearchOptions(tool, required: true), cancellationToken);
        List<ChatMessage> conversation = [.. messages, .. search.Messages];
        ChatResponse answer = await client.GetResponseAsync(conversation, AnswerOptions(tool.Retrieved), cancellationToken);
        RagAnswer structured = new ChatResponse<RagAnswer>(answer, CitationSchema.Json).Result;
        history.AddRange([messages[^1], .. search.Messages, .. answer.Messages]);
        var usage = new UsageDetails();
        usage.Add(search.Usage ?? new());
        usage.Add(answer.Usage ?? new());
        var cited = structured.Citations.Select(c => tool.Retrieved.FirstOrDefault(p => p.ChunkId == c.Chunk)).OfType<Passage>().Distinct().ToList();
        return new RagTurn(structured.Answer, tool.Retrieved, cited, usage, structured);
    }

    /// <summary>The request's messages: the history (its oldest exchanges left out while it takes over half the room) and the question.</summary>
    private List<ChatMessage> Start(string question)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(question);
        var asked = new ChatMessage(ChatRole.User, question);
        var probe = new SearchTool(retriever, question, (_, _) => 0, 0, endAfterSearch: false);
        while (history.Count > 0 && dbrx.CountPromptTokens([.. history, asked], SearchOptions(probe, required: true)) > PromptLimit / 2)
        {
            int next = history.FindIndex(1, m => m.Role == ChatRole.User);
            history.RemoveRange(0, next < 0 ? history.Count : next);
        }
        return [.. history, asked];
    }

    private ChatOptions SearchOptions(SearchTool tool, bool required) => new()
    {
        Instructions = options.Instructions,
        Tools = [tool.Function],
        ToolMode = required ? ChatToolMode.RequireSpecific(SearchTool.Name) : null,
        AllowMultipleToolCalls = false,
        MaxOutputTokens = options.MaxOutputTokens,
        Temperature = options.Temperature,
        Seed = options.Seed,
    };

    private ChatOptions AnswerOptions(IReadOnlyList<Passage> passages) => new()
    {
        Instructions = options.Instructions,
        ResponseFormat = ChatResponseFormat.ForJsonSchema(CitationSchema.For(passages), "rag_answer", "The answer, and the passages it rests on."),
        ToolMode = ChatToolMode.None,
        MaxOutputTokens = options.MaxOutputTokens,
        Temperature = options.Temperature,
        Seed = options.Seed,
    };
}
