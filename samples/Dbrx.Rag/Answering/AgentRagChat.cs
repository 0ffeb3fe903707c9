using Dbrx.Extensions.AI;
using Dbrx.Rag.Retrieval;
using Microsoft.Agents.AI;
using Microsoft.Extensions.AI;

namespace Dbrx.Rag.Answering;

/// <summary>
/// A conversation about the documents, answered Microsoft Agent Framework's way: a <see cref="ChatClientAgent"/> with
/// a <see cref="TextSearchProvider"/> that searches for the user's message before each run and puts the passages into
/// the context as a message; the model answers from them with <c>[n]</c> markers. No tool call is needed, so this
/// works the same with any model.
/// </summary>
/// <remarks>
/// The agent's system turn (its instructions) is the same on every run, so follow-ups reuse its cached prefix.
/// Passages are cut so that the system turn, the question and the passages leave room for the answer; the session's
/// older messages are left to the client's <see cref="DbrxChatClientOptions.DropOldestMessages"/>, which the agent's
/// client should have on. Not thread-safe: one question at a time per conversation.
/// </remarks>
public sealed class AgentRagChat
{
    /// <summary>The agent's instructions: its system turn, the same on every run.</summary>
    public const string Instructions =
        "You answer questions about the user's documents from the passages given with each question, and cite each passage you use by its number in brackets, like [12]. "
        + "If the passages do not hold the answer, say so.";

    private readonly ChatClientAgent agent;
    private readonly DbrxChatClient dbrx;
    private readonly RagRetriever retriever;
    private readonly RagChatOptions options;
    private readonly ChatOptions chatOptions;
    private AgentSession? session;
    private IReadOnlyList<Passage> lastPassages = [];

    /// <summary>Creates a conversation.</summary>
    /// <param name="client">A pipeline over a <see cref="DbrxChatClient"/> (the agent adds function invocation itself).</param>
    /// <param name="retriever">Where passages come from.</param>
    /// <param name="options">Answer length and sampling (the instructions are the agent's own).</param>
    public AgentRagChat(IChatClient client, RagRetriever retriever, RagChatOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(client);
        ArgumentNullException.ThrowIfNull(retriever);
        dbrx = client.GetService<DbrxChatClient>() ?? throw new ArgumentException("AgentRagChat needs a DbrxChatClient in the pipeline: it counts prompt tokens with it.", nameof(client));
        this.retriever = retriever;
        this.options = options ?? new RagChatOptions();
        this.options.Validate();
        chatOptions = new ChatOptions { Instructions = Instructions, MaxOutputTokens = this.options.MaxOutputTokens, Temperature = this.options.Temperature, Seed = this.options.Seed };
        var search = new TextSearchProvider(SearchAsync, new TextSearchProviderOptions
        {
            SearchTime = TextSearchProviderOptions.TextSearchBehavior.BeforeAIInvoke,
            ContextFormatter = results => Context([.. results.Select(r => (Passage)r.RawRepresentation!)]),
        });
        agent = new ChatClientAgent(client, new ChatClientAgentOptions { Name = "documents", ChatOptions = chatOptions, AIContextProviders = [search] });
    }

    /// <summary>Forgets the conversation.</summary>
    public void Reset() => session = null;

    /// <summary>Answers a question as streamed text; each piece goes to <paramref name="onText"/> as it comes.</summary>
    /// <exception cref="OperationCanceledException">Cancelled.</exception>
    public async Task<RagTurn> AskAsync(string question, Action<string>? onText = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(question);
        session ??= await agent.CreateSessionAsync(cancellationToken);
        lastPassages = [];
        var updates = new List<AgentResponseUpdate>();
        await foreach (AgentResponseUpdate update in agent.RunStreamingAsync(question, session, cancellationToken: cancellationToken))
        {
            updates.Add(update);
            if (update.Text.Length > 0)
                onText?.Invoke(update.Text);
        }
        AgentResponse response = updates.ToAgentResponse();
        return new RagTurn(response.Text, lastPassages, Citations.Cited(response.Text, lastPassages), response.Usage);
    }

    /// <summary>The provider's search: the best passages for the user's message, cut to what fits beside it.</summary>
    private async Task<IEnumerable<TextSearchProvider.TextSearchResult>> SearchAsync(string input, CancellationToken cancellationToken)
    {
        IReadOnlyList<Passage> found = await retriever.SearchAsync(input, cancellationToken: cancellationToken);
        var question = new ChatMessage(ChatRole.User, input);
        lastPassages = ContextBudget.Fit(found,
            passages => dbrx.CountPromptTokens([question, new ChatMessage(ChatRole.User, Context(passages))], chatOptions),
            dbrx.ContextLength - options.MaxOutputTokens);
        return lastPassages.Select(p => new TextSearchProvider.TextSearchResult { SourceName = p.Source, Text = p.Text, RawRepresentation = p });
    }

    private static string Context(IReadOnlyList<Passage> passages) => "Passages from the documents:\n\n" + PassageFormatter.Format(passages);
}
