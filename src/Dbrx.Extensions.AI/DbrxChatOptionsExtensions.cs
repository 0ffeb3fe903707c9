using System.Diagnostics.CodeAnalysis;
using Microsoft.Extensions.AI;

namespace Dbrx.Extensions.AI;

/// <summary>Options of a DBRX chat request that <see cref="ChatOptions"/> has no member for.</summary>
public static class DbrxChatOptionsExtensions
{
    /// <summary>The <see cref="ChatOptions.AdditionalProperties"/> key <see cref="WithResponseType"/> sets.</summary>
    public const string ResponseTypeKey = "dbrx.response_type";

    /// <summary>
    /// Says which .NET type the JSON answer (<see cref="ChatOptions.ResponseFormat"/>, as <c>GetResponseAsync&lt;T&gt;</c>
    /// sets it) will be read into, so that the schema can be narrowed where it is looser than the type reads: integer
    /// widths, the range of <c>float</c>, <c>double</c>, <c>decimal</c> and <c>Half</c>, one UTF-16 unit for
    /// <c>char</c>, <c>TimeSpan</c> and <c>TimeOnly</c> as .NET parses them, base64 for <c>byte[]</c>, dictionary keys.
    /// Every answer then binds. Only a type given here narrows a schema, never a schema's name, and the answer still
    /// satisfies the schema given (the one exception: a <c>TimeOnly</c> schema's <c>format: time</c>, which requires an
    /// offset that <c>TimeOnly</c> cannot read, is replaced by the time of day it reads). A type the schema does not
    /// describe (other property names) narrows nothing.
    /// </summary>
    /// <typeparam name="T">The type the answer is read into.</typeparam>
    /// <param name="options">The request's options; changed and returned.</param>
    /// <example><c>await client.GetResponseAsync&lt;Order&gt;(messages, new ChatOptions().WithResponseType&lt;Order&gt;())</c></example>
    public static ChatOptions WithResponseType<[DynamicallyAccessedMembers(ResponseTypeMembers)] T>(this ChatOptions options) =>
        options.WithResponseType(typeof(T));

    /// <inheritdoc cref="WithResponseType{T}(ChatOptions)"/>
    /// <param name="options">The request's options; changed and returned.</param>
    /// <param name="type">The type the answer is read into.</param>
    public static ChatOptions WithResponseType(this ChatOptions options, [DynamicallyAccessedMembers(ResponseTypeMembers)] Type type)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(type);
        options.AdditionalProperties ??= [];
        options.AdditionalProperties[ResponseTypeKey] = type;
        return options;
    }

    /// <summary>
    /// The <see cref="ChatOptions.AdditionalProperties"/> key that asks for log-probabilities (true), as OpenAI's
    /// <c>logprobs</c>; also the <see cref="ChatResponseUpdate.AdditionalProperties"/> and
    /// <see cref="ChatResponse.AdditionalProperties"/> key they come back under (a list of <see cref="DbrxChatTokenLogProbability"/>).
    /// </summary>
    public const string LogProbabilitiesKey = "logprobs";

    /// <summary>The <see cref="ChatOptions.AdditionalProperties"/> key for how many alternatives to report per token, 0 to 20 (OpenAI's <c>top_logprobs</c>).</summary>
    public const string TopLogProbabilitiesKey = "top_logprobs";

    /// <summary>
    /// Asks for each generated token's log-probability under the model and, with <paramref name="top"/> &gt; 0, the
    /// most likely alternatives at each position. Each streamed update then carries those of its tokens
    /// (<see cref="GetLogProbabilities(ChatResponseUpdate)"/>), and a whole response all of them
    /// (<see cref="GetLogProbabilities(ChatResponse)"/>).
    /// </summary>
    /// <param name="options">The request's options; changed and returned.</param>
    /// <param name="top">Alternatives per token, 0 to 20.</param>
    public static ChatOptions WithLogProbabilities(this ChatOptions options, int top = 0)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentOutOfRangeException.ThrowIfNegative(top);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(top, 20);
        options.AdditionalProperties ??= [];
        options.AdditionalProperties[LogProbabilitiesKey] = true;
        options.AdditionalProperties[TopLogProbabilitiesKey] = top;
        return options;
    }

    /// <summary>The log-probabilities of the tokens an update carries, when they were asked for; empty otherwise.</summary>
    public static IReadOnlyList<DbrxChatTokenLogProbability> GetLogProbabilities(this ChatResponseUpdate update)
    {
        ArgumentNullException.ThrowIfNull(update);
        return update.AdditionalProperties?.TryGetValue(LogProbabilitiesKey, out object? value) == true && value is IReadOnlyList<DbrxChatTokenLogProbability> list ? list : [];
    }

    /// <summary>The log-probabilities of every generated token of a response, in order, when they were asked for; empty otherwise.</summary>
    public static IReadOnlyList<DbrxChatTokenLogProbability> GetLogProbabilities(this ChatResponse response)
    {
        ArgumentNullException.ThrowIfNull(response);
        return response.AdditionalProperties?.TryGetValue(LogProbabilitiesKey, out object? value) == true && value is IReadOnlyList<DbrxChatTokenLogProbability> list ? list : [];
    }

    /// <summary>The <see cref="ChatOptions.AdditionalProperties"/> key for how many answers to generate (OpenAI's <c>n</c>).</summary>
    public const string ChoicesKey = "n";

    /// <summary>The <see cref="ChatResponseUpdate.AdditionalProperties"/> key that says which choice an update belongs to, with several.</summary>
    public const string ChoiceIndexKey = "choice_index";

    /// <summary>
    /// Asks for <paramref name="count"/> answers to the prompt, each sampled on its own (with a seed, choice i uses
    /// seed + i). The prompt is prefilled once. Streamed updates say their choice (<see cref="GetChoiceIndex"/>), a
    /// collected <see cref="ChatResponse"/> has one assistant message per choice, and the usage counts the prompt once.
    /// At most <see cref="DbrxChatClientOptions.MaxChoices"/>.
    /// </summary>
    /// <param name="options">The request's options; changed and returned.</param>
    /// <param name="count">How many answers, at least 1.</param>
    public static ChatOptions WithChoices(this ChatOptions options, int count)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentOutOfRangeException.ThrowIfLessThan(count, 1);
        options.AdditionalProperties ??= [];
        options.AdditionalProperties[ChoicesKey] = count;
        return options;
    }

    /// <summary>The choice an update belongs to: 0 unless several were asked for.</summary>
    public static int GetChoiceIndex(this ChatResponseUpdate update)
    {
        ArgumentNullException.ThrowIfNull(update);
        return update.AdditionalProperties?.TryGetValue(ChoiceIndexKey, out object? value) == true && value is int index ? index : 0;
    }

    /// <summary>The <see cref="ChatOptions.AdditionalProperties"/> key <see cref="WithRawPrompt"/> sets (true).</summary>
    public const string RawPromptKey = "raw_prompt";

    /// <summary>
    /// Makes the request a plain text completion, for a base model: the messages' text, joined as it is, is the whole
    /// prompt, encoded as ordinary tokens with no chat template, no system prompt and nothing added. Tools and
    /// <see cref="ChatOptions.Instructions"/> have no place in such a prompt and are refused; a JSON response format is
    /// still enforced, but not described to the model. Everything else (sampling, stop strings, choices,
    /// log-probabilities, usage, the prefix cache) is as for a chat request.
    /// </summary>
    /// <param name="options">The request's options; changed and returned.</param>
    public static ChatOptions WithRawPrompt(this ChatOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.AdditionalProperties ??= [];
        options.AdditionalProperties[RawPromptKey] = true;
        return options;
    }

    /// <summary>Whether a request's options ask for a raw prompt (<see cref="WithRawPrompt"/>).</summary>
    internal static bool IsRawPrompt(ChatOptions? options) =>
        options?.AdditionalProperties?.TryGetValue(RawPromptKey, out object? value) == true && value is true;

    /// <summary>The response type a request's options carry (only ever a <see cref="Type"/> object set in-process).</summary>
    internal static Type? ResponseType(ChatOptions? options) =>
        options?.AdditionalProperties?.TryGetValue(ResponseTypeKey, out object? value) == true ? value as Type : null;

    private const DynamicallyAccessedMemberTypes ResponseTypeMembers =
        DynamicallyAccessedMemberTypes.PublicProperties | DynamicallyAccessedMemberTypes.PublicFields | DynamicallyAccessedMemberTypes.PublicConstructors;
}
