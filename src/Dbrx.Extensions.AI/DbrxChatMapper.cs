using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;
using Dbrx.ConstrainedDecoding;
using Dbrx.Inference.Chat;
using Dbrx.Inference.Generation;
using Dbrx.Inference.Tokenization;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Logging;

namespace Dbrx.Extensions.AI;

/// <summary>A chat request translated for the engine.</summary>
/// <param name="PromptTokenIds">The rendered conversation.</param>
/// <param name="Options">Sampling, length, stopping and the output constraint.</param>
/// <param name="ToolsOffered">Tools were described, so the answer may hold calls to parse.</param>
/// <param name="ToolCallRequired">The answer is constrained to a call envelope.</param>
/// <param name="AllowMultipleToolCalls">More than one call may be returned.</param>
/// <param name="DroppedMessages">The oldest messages left out so the conversation fits the context (<see cref="DbrxChatClientOptions.DropOldestMessages"/>).</param>
/// <param name="Choices">How many answers to generate (<see cref="DbrxChatOptionsExtensions.WithChoices"/>).</param>
internal sealed record DbrxChatRequest(int[] PromptTokenIds, DbrxGenerationOptions Options, bool ToolsOffered, bool ToolCallRequired, bool AllowMultipleToolCalls, int DroppedMessages = 0, int Choices = 1);

/// <summary>
/// The translation between Microsoft.Extensions.AI and the engine, both directions, kept in one place: requests by
/// <see cref="Map"/>, the engine's updates back by <see cref="ToUpdates"/>. Every <see cref="ChatOptions"/>
/// member is mapped or deliberately ignored:
/// <list type="table">
/// <item><term>Instructions</term><description>appended to the system turn.</description></item>
/// <item><term>Temperature, TopP, TopK, Seed, FrequencyPenalty, PresencePenalty</term><description>the engine's options of the same meaning.</description></item>
/// <item><term>MaxOutputTokens</term><description>max new tokens (default <see cref="DbrxChatClientOptions.DefaultMaxOutputTokens"/>).</description></item>
/// <item><term>StopSequences</term><description>stop strings (not applied to constrained JSON output, which must stay whole).</description></item>
/// <item><term>ResponseFormat</term><description>Json: a JSON object; ForJsonSchema: that schema; both described in the system turn and enforced by constrained decoding.</description></item>
/// <item><term>Tools, ToolMode, AllowMultipleToolCalls</term><description>tools described in the system turn (not for ToolMode None); RequireAny and RequireSpecific constrain the answer to a call.</description></item>
/// <item><term>RawRepresentationFactory</term><description>may return a <see cref="DbrxGenerationOptions"/> that seeds the request; ChatOptions members set on top win.</description></item>
/// <item><term>AdditionalProperties</term><description><c>min_p</c>, <c>repetition_penalty</c>, <c>truncate_prompt</c>, <c>logit_bias</c> (token id to bias), <c>logprobs</c> and <c>top_logprobs</c> (see <see cref="DbrxChatOptionsExtensions.WithLogProbabilities"/>); other keys are ignored.</description></item>
/// <item><term>ModelId, ConversationId, Reasoning, AllowBackgroundResponses, ContinuationToken</term><description>ignored: one model per client, no conversation state (an earlier turn's cache row is found by the prompt's prefix), no reasoning mode.</description></item>
/// </list>
/// Messages: roles system, user, assistant and tool (any other role is rendered by its name); text, function calls
/// and function results are rendered, and text attachments; content the model cannot read (images, audio, other
/// binary data) fails the request naming its media type unless <see cref="DbrxChatClientOptions.SkipUnreadableContent"/>
/// (see <see cref="MessageContent"/>); other content (usage, reasoning) is skipped.
/// </summary>
internal static class DbrxChatMapper
{
    /// <summary>Translates a request. Neither the messages nor the options are modified.</summary>
    /// <exception cref="ArgumentException">An option is invalid, a required tool does not exist, a message holds content DBRX cannot read (see <see cref="MessageContent"/>), or the output budget is too small for the schema.</exception>
    /// <exception cref="JsonSchemaException">A response or tool schema is invalid or cannot be enforced.</exception>
    /// <exception cref="DbrxChatContextLengthException">The conversation leaves no room for an answer in the context.</exception>
    /// <exception cref="OperationCanceledException">The token was cancelled while the conversation was encoded.</exception>
    public static DbrxChatRequest Map(IEnumerable<ChatMessage> messages, ChatOptions? options, DbrxChatClientOptions clientOptions, IDbrxEngine engine, JsonConstraintCompiler constraints, IChatClient client, ILogger? logger = null, CancellationToken cancellationToken = default)
    {
        List<ChatMessage> history = [.. messages];
        DbrxGenerationOptions generation = BaseOptions(options, clientOptions, client);
        bool raw = DbrxChatOptionsExtensions.IsRawPrompt(options);
        if (raw)
            RefuseTemplateOnlyOptions(options);

        var (tools, required, allowMultiple) = SelectTools(options);
        List<string> extras = SystemExtras(options, tools, required, allowMultiple);

        (string Key, Func<JsonGrammarBuilder, JsonGrammar> Build)? constrained = OutputGrammar(options, tools, required, allowMultiple, clientOptions.AllowUndeclaredJsonProperties);

        if (!generation.TruncatePromptFromLeft)
        {
            try
            {
                DbrxContextFit.EnsureTextMayFit(TextBytes(clientOptions.DropOldestMessages ? AlwaysKept(history) : history), 1, engine.ContextLength, engine.Tokenizer);
            }
            catch (DbrxContextLengthException e)
            {
                throw EngineErrors.Translate(e);
            }
        }
        int[] Encode()
        {
            if (raw)
                return engine.Tokenizer.Encode(RawText(history, clientOptions, logger), cancellationToken);
            var (conversation, template) = Render(history, extras, clientOptions, logger);
            return template.Encode(conversation, addGenerationPrompt: true, engine.Tokenizer, cancellationToken);
        }
        int[] prompt = Encode();
        int dropped = 0;
        // Room for the whole answer, then the oldest exchanges go first; the system turn and the latest user turn stay.
        // How many go is found by bisection over the number of exchanges, so a long conversation is encoded a few
        // times, not once per exchange left out.
        if (!raw && clientOptions.DropOldestMessages && (long)prompt.Length + generation.MaxNewTokens > engine.ContextLength)
        {
            List<ChatMessage> original = history;
            int exchanges = WithoutOldest(original, int.MaxValue).Exchanges;
            bool Fits(int k)
            {
                history = WithoutOldest(original, k).History;
                return (long)Encode().Length + generation.MaxNewTokens <= engine.ContextLength;
            }
            int low = 1, high = exchanges;   // the fewest exchanges to leave out so that it fits (all, if nothing does)
            while (low < high)
            {
                int middle = low + (high - low) / 2;
                if (Fits(middle))
                    high = middle;
                else
                    low = middle + 1;
            }
            if (exchanges > 0)
            {
                history = WithoutOldest(original, low).History;
                prompt = Encode();
                dropped = original.Count - history.Count;
            }
        }
        if (!generation.TruncatePromptFromLeft && prompt.Length >= engine.ContextLength)
            throw new DbrxChatContextLengthException(
                $"The conversation renders to {prompt.Length:N0} tokens{(dropped > 0 ? $" after dropping its {dropped} oldest messages" : "")}, which leaves no room for an answer in the context of {engine.ContextLength:N0} tokens. "
                + "Shorten it, raise DbrxChatClientOptions.ContextLength (up to the model's max_seq_len), set DropOldestMessages to leave out the oldest exchanges, or TruncatePromptFromLeft to drop the oldest tokens.",
                prompt.Length, promptTokensAtLeast: false, generation.MaxNewTokens, engine.ContextLength);
        int budget = DbrxContextFit.AnswerBudget(prompt.Length, generation.MaxNewTokens, options?.MaxOutputTokens is not null, engine.ContextLength);
        bool shrunk = budget < generation.MaxNewTokens;
        generation = generation with { MaxNewTokens = budget };
        if (constrained is { } grammarSource)
        {
            JsonConstraint constraint = constraints.Compile(grammarSource.Key, grammarSource.Build, cancellationToken);
            int minimum = constraint.MinimumTokens;
            if (minimum > generation.MaxNewTokens)
                throw new DbrxChatOptionException(nameof(ChatOptions.MaxOutputTokens), $"MaxOutputTokens is {generation.MaxNewTokens}{(shrunk ? " (what the context leaves after the prompt)" : "")}, but the shortest JSON output the schema allows takes {minimum} tokens; raise MaxOutputTokens to at least {minimum}.");
            generation = generation with { ConstraintFactory = constraint.Create, StopSequences = [] };
        }

        return new DbrxChatRequest(prompt, generation, tools.Count > 0, required, allowMultiple, dropped, Choices(options, clientOptions));
    }

    /// <summary>A raw prompt's text: the messages' text joined as it is (<see cref="DbrxChatOptionsExtensions.WithRawPrompt"/>).</summary>
    private static string RawText(List<ChatMessage> history, DbrxChatClientOptions clientOptions, ILogger? logger)
    {
        if (history.Count == 0)
            throw new ArgumentException("The prompt has no messages.");
        return string.Concat(history.Select((message, index) => MessageContent.Text(message, index, clientOptions.SkipUnreadableContent, logger)));
    }

    /// <summary>A raw prompt has no system turn to describe tools or instructions in: asking for them is an error, not silently nothing.</summary>
    private static void RefuseTemplateOnlyOptions(ChatOptions? options)
    {
        if (options?.Tools is { Count: > 0 })
            throw new DbrxChatOptionException(nameof(ChatOptions.Tools), "Tools cannot be offered with a raw prompt (WithRawPrompt): it has no chat template to describe them in.");
        if (!string.IsNullOrWhiteSpace(options?.Instructions))
            throw new DbrxChatOptionException(nameof(ChatOptions.Instructions), "Instructions cannot be given with a raw prompt (WithRawPrompt): it has no system turn; put them in the prompt's text.");
    }

    /// <summary>The messages <see cref="DbrxChatClientOptions.DropOldestMessages"/> never leaves out: system messages and all from the latest user message on.</summary>
    private static IEnumerable<ChatMessage> AlwaysKept(List<ChatMessage> history)
    {
        int latestUser = Math.Max(0, history.FindLastIndex(m => m.Role == ChatRole.User));
        return history.Where((m, i) => m.Role == ChatRole.System || i >= latestUser);
    }

    /// <summary>
    /// Translates the engine's stream back: its text as <see cref="ChatResponseUpdate"/>s (text that may be a tool call
    /// is held back while tools are offered), then one last update with the parsed <see cref="FunctionCallContent"/>s or
    /// the text held back, the usage, the finish reason and, when messages were left out to fit the context, their
    /// number (<c>dropped_messages</c>). Every update carries the engine's <see cref="GenerationUpdate"/> as
    /// <see cref="ChatResponseUpdate.RawRepresentation"/>.
    /// </summary>
    /// <exception cref="OperationCanceledException">The engine ended the request as cancelled.</exception>
    public static async IAsyncEnumerable<ChatResponseUpdate> ToUpdates(IAsyncEnumerable<GenerationUpdate> generated, DbrxChatRequest request, string? modelId, DbrxTokenizer tokenizer, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var logProbabilities = new ChatLogProbabilities(tokenizer);
        string responseId = "resp_" + Guid.NewGuid().ToString("N");
        string messageId = "msg_" + Guid.NewGuid().ToString("N");
        DateTimeOffset created = DateTimeOffset.UtcNow;
        ChatResponseUpdate Update(IList<AIContent> contents, GenerationUpdate raw) => new(ChatRole.Assistant, contents)
        {
            ResponseId = responseId,
            MessageId = messageId,
            CreatedAt = created,
            ModelId = modelId,
            RawRepresentation = raw,
            AdditionalProperties = logProbabilities.Take() is { } taken ? new() { [DbrxChatOptionsExtensions.LogProbabilitiesKey] = taken } : null,
        };

        var filter = new ToolCallStreamFilter(holdEverything: request.ToolCallRequired);
        GenerationUpdate? last = null;
        await foreach (GenerationUpdate update in generated.WithCancellation(cancellationToken))
        {
            last = update;
            logProbabilities.Add(update);
            string text = request.ToolsOffered ? filter.Push(update.Text) : update.Text;
            if (text.Length > 0)
                yield return Update([new TextContent(text)], update);
        }
        if (last?.FinishReason is not { } reason)
            throw new InvalidOperationException("The DBRX engine ended the stream without a finish reason.");
        if (reason == GenerationFinishReason.Cancelled)
            throw new OperationCanceledException("The DBRX request was cancelled.", cancellationToken);

        List<AIContent> final = [];
        bool calledTools = false;
        if (request.ToolsOffered)
        {
            var (_, calls) = ToolCallProtocol.Parse(filter.Answer, request.AllowMultipleToolCalls);
            if (calls.Count > 0)
            {
                final.AddRange(calls);
                calledTools = true;
            }
            else if (filter.Rest() is { Length: > 0 } rest)
            {
                final.Add(new TextContent(rest));
            }
        }
        GenerationUsage usage = last.Usage!;
        final.Add(new UsageContent(new UsageDetails
        {
            InputTokenCount = usage.PromptTokens,
            CachedInputTokenCount = usage.CachedPromptTokens,
            OutputTokenCount = usage.CompletionTokens,
            TotalTokenCount = usage.TotalTokens,
        }));
        ChatResponseUpdate end = Update(final, last);
        if (request.DroppedMessages > 0)
            (end.AdditionalProperties ??= [])["dropped_messages"] = request.DroppedMessages;
        end.FinishReason = calledTools ? ChatFinishReason.ToolCalls : reason == GenerationFinishReason.Length ? ChatFinishReason.Length : ChatFinishReason.Stop;
        yield return end;
    }

    /// <summary>UTF-8 bytes of the messages' text: a lower bound on what they render to.</summary>
    private static long TextBytes(IEnumerable<ChatMessage> messages) =>
        messages.SelectMany(m => m.Contents).OfType<TextContent>().Sum(t => (long)Encoding.UTF8.GetByteCount(t.Text ?? ""));

    /// <summary>
    /// The length in tokens of the prompt <see cref="Map"/> renders for these messages and options, before any oldest
    /// messages are dropped: the system turn (with instructions, tools and response format), the conversation and the
    /// generation prompt.
    /// </summary>
    public static int CountPromptTokens(IEnumerable<ChatMessage> messages, ChatOptions? options, DbrxChatClientOptions clientOptions, IDbrxEngine engine)
    {
        var (tools, required, allowMultiple) = SelectTools(options);
        var (conversation, template) = Render([.. messages], SystemExtras(options, tools, required, allowMultiple), clientOptions, logger: null);
        return template.Encode(conversation, addGenerationPrompt: true, engine.Tokenizer).Length;
    }

    /// <summary>What the system turn gets beyond the system prompt: instructions, the tools, the response format.</summary>
    private static List<string> SystemExtras(ChatOptions? options, List<AIFunctionDeclaration> tools, bool required, bool allowMultiple)
    {
        var extras = new List<string>();
        if (!string.IsNullOrWhiteSpace(options?.Instructions))
            extras.Add(options.Instructions.Trim());
        if (tools.Count > 0)
            extras.Add(ToolCallProtocol.Describe(tools, required, allowMultiple));
        if (!required && options?.ResponseFormat is ChatResponseFormatJson json)
            extras.Add(json.Schema is { } schema
                ? $"Respond with JSON only{(json.SchemaName is null ? "" : $" ({json.SchemaName}{(json.SchemaDescription is null ? "" : ": " + json.SchemaDescription)})")}, matching this JSON schema: {JsonSerializer.Serialize(schema)}"
                : "Respond with a JSON object only.");
        return extras;
    }

    /// <summary>The conversation with up to <paramref name="exchanges"/> of its oldest exchanges left out, and how many were.</summary>
    private static (List<ChatMessage> History, int Exchanges) WithoutOldest(List<ChatMessage> history, int exchanges)
    {
        var shorter = new List<ChatMessage>(history);
        int left = 0;
        while (left < exchanges && OldestExchange(shorter) is var (start, count))
        {
            shorter.RemoveRange(start, count);
            left++;
        }
        return (shorter, left);
    }

    /// <summary>
    /// The oldest exchange that may be left out: from the first message that is not a system message up to the next
    /// user message (so a call and its results go together), never reaching the latest user message. Null when none.
    /// </summary>
    private static (int Start, int Count)? OldestExchange(List<ChatMessage> history)
    {
        int latestUser = history.FindLastIndex(m => m.Role == ChatRole.User);
        int start = history.FindIndex(m => m.Role != ChatRole.System);
        if (start < 0 || start >= latestUser)
            return null;
        int end = history.FindIndex(start + 1, m => m.Role == ChatRole.User);
        return (start, end - start);
    }

    private static DbrxGenerationOptions BaseOptions(ChatOptions? options, DbrxChatClientOptions clientOptions, IChatClient client)
    {
        var seed = options?.RawRepresentationFactory?.Invoke(client) as DbrxGenerationOptions
            ?? new DbrxGenerationOptions { MaxNewTokens = clientOptions.DefaultMaxOutputTokens, TruncatePromptFromLeft = clientOptions.TruncatePromptFromLeft };
        if (options is null)
            return seed;
        var extra = options.AdditionalProperties;
        return seed with
        {
            MaxNewTokens = options.MaxOutputTokens ?? seed.MaxNewTokens,
            Temperature = options.Temperature ?? seed.Temperature,
            TopP = options.TopP ?? seed.TopP,
            TopK = options.TopK ?? seed.TopK,
            Seed = options.Seed ?? seed.Seed,
            FrequencyPenalty = options.FrequencyPenalty ?? seed.FrequencyPenalty,
            PresencePenalty = options.PresencePenalty ?? seed.PresencePenalty,
            StopSequences = options.StopSequences is { Count: > 0 } stops ? [.. seed.StopSequences, .. stops] : seed.StopSequences,
            MinP = AdditionalPropertyValues.Number(extra, "min_p") ?? seed.MinP,
            RepetitionPenalty = AdditionalPropertyValues.Number(extra, "repetition_penalty") ?? seed.RepetitionPenalty,
            TruncatePromptFromLeft = AdditionalPropertyValues.Flag(extra, "truncate_prompt") ?? seed.TruncatePromptFromLeft,
            LogitBias = AdditionalPropertyValues.LogitBias(extra) ?? seed.LogitBias,
            LogProbabilities = AdditionalPropertyValues.Flag(extra, DbrxChatOptionsExtensions.LogProbabilitiesKey) ?? seed.LogProbabilities,
            TopLogProbabilities = (int?)AdditionalPropertyValues.Number(extra, DbrxChatOptionsExtensions.TopLogProbabilitiesKey) ?? seed.TopLogProbabilities,
        };
    }

    /// <summary>
    /// The grammar the answer is constrained to and the key its compiled form is cached under (once per schema text and
    /// tool set, shared by later requests); null when the answer is free text.
    /// </summary>
    private static (string Key, Func<JsonGrammarBuilder, JsonGrammar> Build)? OutputGrammar(ChatOptions? options, List<AIFunctionDeclaration> tools, bool required, bool allowMultiple, bool undeclared)
    {
        var json = options?.ResponseFormat as ChatResponseFormatJson;
        if (!required && json is null)
            return null;
        // Schemas narrowed to what the .NET types the caller gave can bind (see ClrSchemaTightener): a tool's method,
        // the response type set with WithResponseType. Never from a name.
        var toolSchemas = tools.Select(t => (Tool: t, Arguments: ClrSchemaTightener.ForTool(t))).ToList();
        string toolsKey = $"tools:{allowMultiple}:{undeclared}:" + string.Join("\n", toolSchemas.Select(t => t.Tool.Name + "=" + t.Arguments.GetRawText()));
        JsonGrammar Call(JsonGrammarBuilder grammar) => ToolCallProtocol.Envelope(toolSchemas, allowMultiple, undeclared, grammar);
        if (required)
            return (toolsKey, Call);

        JsonElement answerSchema = json!.Schema is { } given
            ? ClrSchemaTightener.ForResponse(given, DbrxChatOptionsExtensions.ResponseType(options))
            : JsonDocument.Parse("""{"type":"object"}""").RootElement;
        string answerKey = $"answer:{undeclared}:{answerSchema.GetRawText()}";
        JsonGrammar Answer(JsonGrammarBuilder grammar) => grammar.Schema(answerSchema, undeclared);
        if (tools.Count == 0)
            return (answerKey, Answer);
        // With tools on offer the answer may still be a call: allow either document.
        return (answerKey + "\n" + toolsKey, grammar => grammar.AnyOf(Call(grammar), Answer(grammar)));
    }

    private static (List<AIFunctionDeclaration> Tools, bool Required, bool AllowMultiple) SelectTools(ChatOptions? options)
    {
        var tools = options?.Tools?.OfType<AIFunctionDeclaration>().ToList() ?? [];
        bool allowMultiple = options?.AllowMultipleToolCalls ?? true;
        switch (options?.ToolMode)
        {
            case NoneChatToolMode:
                return ([], false, allowMultiple);
            case RequiredChatToolMode { RequiredFunctionName: { } name }:
                var chosen = tools.Where(t => t.Name == name).ToList();
                if (chosen.Count == 0)
                    throw new DbrxChatOptionException(nameof(ChatOptions.ToolMode), $"ToolMode requires the function '{name}', but no tool of that name is in ChatOptions.Tools ({string.Join(", ", tools.Select(t => t.Name))}).");
                return (chosen, true, allowMultiple);
            case RequiredChatToolMode:
                if (tools.Count == 0)
                    throw new DbrxChatOptionException(nameof(ChatOptions.ToolMode), "ToolMode.RequireAny needs at least one function in ChatOptions.Tools.");
                return (tools, true, allowMultiple);
            default:
                return (tools, false, allowMultiple);
        }
    }

    /// <summary>
    /// Turns the messages into template messages. The system turn gets the extras (instructions, tools, format): the
    /// conversation's own first system message, else the configured or default system prompt.
    /// </summary>
    private static (List<DbrxChatMessage> Messages, DbrxChatTemplate Template) Render(List<ChatMessage> history, List<string> extras, DbrxChatClientOptions clientOptions, ILogger? logger)
    {
        string? systemPrompt = clientOptions.SystemPrompt;
        var callNames = history.SelectMany(m => m.Contents.OfType<FunctionCallContent>()).GroupBy(c => c.CallId).ToDictionary(g => g.Key, g => g.First().Name);
        var rendered = new List<DbrxChatMessage>();
        for (int index = 0; index < history.Count; index++)
        {
            ChatMessage message = history[index];
            var results = message.Contents.OfType<FunctionResultContent>().ToList();
            foreach (FunctionResultContent result in results)
                rendered.Add(new DbrxChatMessage("tool", ToolCallProtocol.RenderResult(result, callNames.GetValueOrDefault(result.CallId))));
            var calls = message.Contents.OfType<FunctionCallContent>().ToList();
            string text = MessageContent.Text(message, index, clientOptions.SkipUnreadableContent, logger);
            if (calls.Count > 0)
                text = (text.Length == 0 ? "" : text + "\n") + ToolCallProtocol.RenderCalls(calls);
            if (results.Count == 0 || text.Length > 0)
                rendered.Add(new DbrxChatMessage(message.Role.Value, text));
        }

        var template = DbrxChatTemplate.WithSystemPrompt(systemPrompt);
        if (extras.Count > 0)
        {
            if (rendered.Count > 0 && rendered[0].Role == "system")
                rendered[0] = rendered[0] with { Content = Join([rendered[0].Content, .. extras]) };
            else
                rendered.Insert(0, DbrxChatMessage.System(Join([template.SystemPrompt ?? "", .. extras])));
        }
        if (rendered.Count == 0)
            throw new ArgumentException("The conversation has no messages.");
        return (rendered, template);
    }

    private static string Join(IEnumerable<string> parts) => string.Join("\n\n", parts.Where(p => !string.IsNullOrWhiteSpace(p)).Select(p => p.Trim()));

    /// <summary>How many answers the request asks for (<see cref="DbrxChatOptionsExtensions.WithChoices"/>), within <see cref="DbrxChatClientOptions.MaxChoices"/>.</summary>
    private static int Choices(ChatOptions? options, DbrxChatClientOptions clientOptions)
    {
        double count = AdditionalPropertyValues.Number(options?.AdditionalProperties, DbrxChatOptionsExtensions.ChoicesKey) ?? 1;
        return count >= 1 && count <= clientOptions.MaxChoices && count == Math.Floor(count)
            ? (int)count
            : throw new DbrxChatOptionException($"AdditionalProperties[\"{DbrxChatOptionsExtensions.ChoicesKey}\"]", $"AdditionalProperties[\"{DbrxChatOptionsExtensions.ChoicesKey}\"] (choices) must be a whole number from 1 to {clientOptions.MaxChoices} (DbrxChatClientOptions.MaxChoices), not {count}.");
    }
}
