using System.Text.Json;
using Dbrx.Extensions.AI;
using Dbrx.Server.Wire;
using Microsoft.Extensions.AI;

namespace Dbrx.Server;

/// <summary>
/// The translation of OpenAI's legacy text completions, both ways. A request becomes the chat request a chat completion
/// with the same fields would (<see cref="OpenAIChatMapper"/> checks every shared field, so the two refuse alike) whose
/// one message is the prompt, run as a raw prompt (<see cref="DbrxChatOptionsExtensions.WithRawPrompt"/>): its tokens
/// as they are, no chat template, for a base model. The answer's updates become a <c>text_completion</c> or its chunks.
/// </summary>
/// <remarks>
/// <c>prompt</c> is a string or an array of one string; token-id prompts, several prompts, <c>echo</c>,
/// <c>suffix</c> and <c>best_of</c> above 1 are refused with a 400 naming the field. <c>logprobs</c> (0 to 20) asks
/// for each token's log-probability and that many alternatives.
/// </remarks>
internal static class OpenAICompletionMapper
{
    /// <summary>Checks and translates a request (the caller checks <c>model</c> against the served model).</summary>
    /// <exception cref="OpenAIRequestException">A field is missing, out of range, or asks for what the server does not offer.</exception>
    public static MappedChatRequest ToChatRequest(CompletionRequest request, DbrxServerOptions limits)
    {
        JsonElement prompt = Prompt(request.Prompt);
        if (request.Echo == true)
            throw OpenAIRequestException.Invalid("echo", "'echo' is not supported: the answer never repeats the prompt.");
        if (!string.IsNullOrEmpty(request.Suffix))
            throw OpenAIRequestException.Invalid("suffix", "'suffix' is not supported: this model continues the prompt, it does not fill in between.");
        if (request.BestOf is { } bestOf && bestOf != (request.N ?? 1))
            throw OpenAIRequestException.Invalid("best_of", $"'best_of' other than 'n' is not supported, not {bestOf}.");
        if (request.Logprobs is { } top && (top < 0 || top > 20))
            throw OpenAIRequestException.Invalid("logprobs", $"'logprobs' must be between 0 and 20 (alternatives per token), not {top}.");

        var chat = new ChatCompletionRequest
        {
            Model = request.Model,
            Messages = [new ChatMessageWire { Role = "user", Content = prompt }],
            MaxTokens = request.MaxTokens,
            Temperature = request.Temperature,
            TopP = request.TopP,
            Stop = request.Stop,
            Seed = request.Seed,
            N = request.N,
            Logprobs = request.Logprobs is not null,
            TopLogprobs = request.Logprobs,
            Stream = request.Stream,
            StreamOptions = request.StreamOptions,
            PresencePenalty = request.PresencePenalty,
            FrequencyPenalty = request.FrequencyPenalty,
            LogitBias = request.LogitBias,
            TopK = request.TopK,
            MinP = request.MinP,
            RepetitionPenalty = request.RepetitionPenalty,
        };
        MappedChatRequest mapped = OpenAIChatMapper.ToChatRequest(chat, limits);
        mapped.Options.WithRawPrompt();
        return mapped with { FieldNames = RequestFieldNames.Completions };
    }

    /// <summary>The prompt's text as a JSON string: a string, or an array holding one.</summary>
    private static JsonElement Prompt(JsonElement? prompt)
    {
        switch (prompt)
        {
            case null or { ValueKind: JsonValueKind.Null }:
                throw OpenAIRequestException.Invalid("prompt", "Missing required parameter: 'prompt'.");
            case { ValueKind: JsonValueKind.String } text:
                return text;
            case { ValueKind: JsonValueKind.Array } array when array.GetArrayLength() == 1 && array[0].ValueKind == JsonValueKind.String:
                return array[0];
            case { ValueKind: JsonValueKind.Array } array when array.GetArrayLength() > 0 && array[0].ValueKind is JsonValueKind.Number or JsonValueKind.Array:
                throw OpenAIRequestException.Invalid("prompt", "'prompt' must be text: token-id prompts are not accepted.");
            case { ValueKind: JsonValueKind.Array } array:
                throw OpenAIRequestException.Invalid("prompt", $"'prompt' must be a string or an array of one string; this server answers one prompt per request, not {array.GetArrayLength()}.");
            default:
                throw OpenAIRequestException.Invalid("prompt", "'prompt' must be a string or an array of one string.");
        }
    }

    /// <summary>The whole answer: one choice per answer asked for, with its text, finish reason and log-probabilities.</summary>
    public static TextCompletion ToCompletion(IReadOnlyList<ChatResponseUpdate> updates, string id, string model, long created, bool logProbabilities)
    {
        var choices = OpenAIChatMapper.ByChoice(updates)
            .Select(choice => new TextCompletionChoice
            {
                Index = choice.Key,
                Text = string.Concat(choice.Select(Text)),
                Logprobs = logProbabilities ? LogProbabilities(choice.SelectMany(u => u.GetLogProbabilities()), 0) : null,
                FinishReason = FinishReason(choice.Select(u => u.FinishReason).LastOrDefault(r => r is not null)),
            })
            .ToList();
        return new TextCompletion { Id = id, Created = created, Model = model, Choices = choices, Usage = OpenAIChatMapper.UsageOf(updates) };
    }

    /// <summary>
    /// The chunks one update becomes: its choice's new text (with its tokens' log-probabilities when asked for; their
    /// offsets continue from <paramref name="offset"/>, the choice's text so far) and finish reason, then, for the update
    /// with the usage when asked for, a chunk with the usage and no choices.
    /// </summary>
    public static IEnumerable<TextCompletion> ToChunks(ChatResponseUpdate update, ChunkStream stream, ref int offset)
    {
        var chunks = new List<TextCompletion>();
        string text = Text(update);
        IReadOnlyList<DbrxChatTokenLogProbability> tokens = update.GetLogProbabilities();
        if (text.Length > 0 || tokens.Count > 0 || update.FinishReason is not null)
        {
            chunks.Add(new TextCompletion
            {
                Id = stream.Id,
                Created = stream.Created,
                Model = stream.Model,
                Choices = [new TextCompletionChoice
                {
                    Index = update.GetChoiceIndex(),
                    Text = text,
                    Logprobs = stream.LogProbabilities && tokens.Count > 0 ? LogProbabilities(tokens, offset) : null,
                    FinishReason = FinishReason(update.FinishReason),
                }],
            });
            offset += text.Length;
        }
        if (stream.IncludeUsage && update.Contents.OfType<UsageContent>().FirstOrDefault() is { } usage)
            chunks.Add(new TextCompletion { Id = stream.Id, Created = stream.Created, Model = stream.Model, Choices = [], Usage = OpenAIChatMapper.Usage(usage.Details) });
        return chunks;
    }

    private static string Text(ChatResponseUpdate update) => string.Concat(update.Contents.OfType<TextContent>().Select(t => t.Text));

    private static TextLogprobsWire LogProbabilities(IEnumerable<DbrxChatTokenLogProbability> tokens, int offset)
    {
        var wire = new TextLogprobsWire { Tokens = [], TokenLogprobs = [], TopLogprobs = [], TextOffset = [] };
        foreach (DbrxChatTokenLogProbability token in tokens)
        {
            wire.Tokens.Add(token.Token);
            wire.TokenLogprobs.Add(token.LogProbability);
            // Two alternatives can decode to the same text (a partial character): the likelier one, listed first, stays.
            var top = new Dictionary<string, double>(StringComparer.Ordinal);
            foreach (var alternative in token.TopAlternatives)
                top.TryAdd(alternative.Token, alternative.LogProbability);
            wire.TopLogprobs.Add(top);
            wire.TextOffset.Add(offset);
            offset += token.Token.Length;
        }
        return wire;
    }

    /// <summary>A text completion ends at a stop (the model's end, or a stop string) or at its length limit.</summary>
    private static string? FinishReason(ChatFinishReason? reason) => reason switch
    {
        null => null,
        var r when r == ChatFinishReason.Length => "length",
        _ => "stop",
    };
}
