using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Dbrx.Server.Wire;

/// <summary>
/// The wire types' JSON contract, generated at build time: snake_case names as OpenAI writes them, nulls left out
/// except where OpenAI writes them (<c>content</c>, <c>finish_reason</c>, <c>logprobs</c>, <c>refusal</c>, an error's
/// <c>param</c> and <c>code</c>), unknown fields ignored, at most 64 levels of nesting. Use <see cref="Wire"/>.
/// </summary>
[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    MaxDepth = 64)]
[JsonSerializable(typeof(ChatCompletionRequest))]
[JsonSerializable(typeof(ChatCompletion))]
[JsonSerializable(typeof(ChatCompletionChunk))]
[JsonSerializable(typeof(OpenAIErrorResponse))]
[JsonSerializable(typeof(ModelList))]
[JsonSerializable(typeof(ModelWire))]
[JsonSerializable(typeof(CompletionRequest))]
[JsonSerializable(typeof(TextCompletion))]
[JsonSerializable(typeof(TokenizeRequest))]
[JsonSerializable(typeof(TokenizeResponse))]
[JsonSerializable(typeof(DetokenizeRequest))]
[JsonSerializable(typeof(DetokenizeResponse))]
[JsonSerializable(typeof(RenderResponse))]
[JsonSerializable(typeof(RenderResponse[]), TypeInfoPropertyName = "RenderResponseArray")]
[JsonSerializable(typeof(ResponseCreateRequest))]
[JsonSerializable(typeof(ResponseObject))]
[JsonSerializable(typeof(ResponseStreamEvent))]
[JsonSerializable(typeof(ResponseDeletedWire))]
[JsonSerializable(typeof(List<JsonElement>))]
internal sealed partial class OpenAIJson : JsonSerializerContext
{
    /// <summary>
    /// The contract with text written as is (<c>"</c> rather than <c>\u0022</c>): responses are JSON documents and
    /// event streams, never embedded in HTML. Built on first use: the initializers of a partial class's parts run in
    /// no defined order, so a static initializer might read the generated <c>Default</c> before it is set.
    /// </summary>
    public static OpenAIJson Wire => wire ??= new(new JsonSerializerOptions(Default.Options) { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping, TypeInfoResolver = null });

    private static OpenAIJson? wire;
}
