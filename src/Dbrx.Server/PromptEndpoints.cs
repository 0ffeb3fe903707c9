using System.Text.Json.Serialization.Metadata;
using Dbrx.Extensions.AI;
using Dbrx.Server.Wire;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.AI;

namespace Dbrx.Server;

/// <summary>
/// The endpoints that turn a request into tokens without generating, for routers that score replicas by the blocks of
/// a prompt they hold (llm-d's precise prefix-cache scorer renders through them) and for tools:
/// <list type="bullet">
/// <item><c>POST /v1/chat/completions/render</c> and <c>POST /v1/completions/render</c>: the body of a chat or text
/// completion, checked as one is, to <c>{"token_ids": [...]}</c>, the ids the engine would prefill for it
/// (<see cref="DbrxChatClient.RenderPrompt"/>: the same template, system prompt, tools and response format). A text
/// completion's comes as an array of one, <c>[{"token_ids": [...]}]</c>: vLLM answers one entry per prompt, and
/// llm-d's token producer reads it so.</item>
/// <item><c>POST /tokenize</c> (a <c>prompt</c> or <c>messages</c>, rendered the same way) to
/// <c>{"count", "max_model_len", "tokens"}</c>, and <c>POST /detokenize</c> (<c>tokens</c>) to <c>{"prompt"}</c>, in vLLM's shapes.</item>
/// </list>
/// Errors are the generating endpoints' (<see cref="RequestRefusal"/>); nothing is counted as a request.
/// </summary>
internal sealed class PromptEndpoints(IChatClient client, ServedModel model, DbrxServerOptions options, RequestRefusal refusal)
{
    /// <summary>Maps the render endpoints on <paramref name="v1"/>, and the tokenizer's at the root (where vLLM serves them), behind the API key.</summary>
    public static void Map(RouteGroupBuilder v1, IEndpointRouteBuilder root)
    {
        v1.MapPost("/chat/completions/render", (HttpContext context, PromptEndpoints endpoints) => endpoints.RenderChatAsync(context));
        v1.MapPost("/completions/render", (HttpContext context, PromptEndpoints endpoints) => endpoints.RenderCompletionAsync(context));
        RouteGroupBuilder tokenizer = root.MapGroup("").AddEndpointFilter<ApiKeyFilter>();
        tokenizer.MapPost("/tokenize", (HttpContext context, PromptEndpoints endpoints) => endpoints.TokenizeAsync(context));
        tokenizer.MapPost("/detokenize", (HttpContext context, PromptEndpoints endpoints) => endpoints.DetokenizeAsync(context));
    }

    public Task<IResult> RenderChatAsync(HttpContext context) => Respond(context, async stop =>
    {
        ChatCompletionRequest body = await RequestBodyReader.ReadAsync(context, options.MaxRequestBodyBytes, OpenAIJson.Wire.ChatCompletionRequest, stop);
        return OpenAIChatMapper.ToChatRequest(body, options);
    }, tokens => new RenderResponse { TokenIds = tokens }, OpenAIJson.Wire.RenderResponse);

    public Task<IResult> RenderCompletionAsync(HttpContext context) => Respond(context, async stop =>
    {
        CompletionRequest body = await RequestBodyReader.ReadAsync(context, options.MaxRequestBodyBytes, OpenAIJson.Wire.CompletionRequest, stop);
        return OpenAICompletionMapper.ToChatRequest(body, options);
    }, tokens => new[] { new RenderResponse { TokenIds = tokens } }, OpenAIJson.Wire.RenderResponseArray);

    public Task<IResult> TokenizeAsync(HttpContext context) => Respond(context, async stop =>
    {
        TokenizeRequest body = await RequestBodyReader.ReadAsync(context, options.MaxRequestBodyBytes, OpenAIJson.Wire.TokenizeRequest, stop);
        string modelId = body.Model ?? model.Id;
        if ((body.Messages is null) == (body.Prompt is null))
            throw OpenAIRequestException.Invalid("prompt", "Send either 'prompt' (text) or 'messages' (a conversation), not both or neither.");
        if (body.Prompt is not null)
            return OpenAICompletionMapper.ToChatRequest(new CompletionRequest { Model = modelId, Prompt = body.Prompt }, options);
        if (body.AddGenerationPrompt == false)
            throw OpenAIRequestException.Invalid("add_generation_prompt", "'add_generation_prompt' false is not supported: a conversation is always rendered for the assistant's answer, as a chat completion prefills it.");
        return OpenAIChatMapper.ToChatRequest(new ChatCompletionRequest
        {
            Model = modelId,
            Messages = body.Messages,
            Tools = body.Tools,
            ToolChoice = body.ToolChoice,
            ParallelToolCalls = body.ParallelToolCalls,
            ResponseFormat = body.ResponseFormat,
        }, options);
    }, tokens => new TokenizeResponse { Count = tokens.Length, MaxModelLen = Dbrx.ContextLength, Tokens = tokens }, OpenAIJson.Wire.TokenizeResponse);

    public async Task<IResult> DetokenizeAsync(HttpContext context)
    {
        try
        {
            DetokenizeRequest body = await RequestBodyReader.ReadAsync(context, options.MaxRequestBodyBytes, OpenAIJson.Wire.DetokenizeRequest, context.RequestAborted);
            CheckModel(body.Model ?? model.Id);
            if (body.Tokens is not { } tokens)
                throw OpenAIRequestException.Invalid("tokens", "Missing required parameter: 'tokens'.");
            int vocabulary = Dbrx.VocabularySize;
            int bad = tokens.FindIndex(id => id < 0 || id >= vocabulary);
            if (bad >= 0)
                throw OpenAIRequestException.Invalid($"tokens[{bad}]", $"'tokens[{bad}]' is {tokens[bad]}, not a token id of this model (0 to {vocabulary - 1}).");
            return Results.Json(new DetokenizeResponse { Prompt = Dbrx.Detokenize(tokens) }, OpenAIJson.Wire.DetokenizeResponse);
        }
        catch (Exception e)
        {
            return refusal.Refuse(context, e, null);
        }
    }

    /// <summary>The DBRX client behind the application's chat client (these endpoints need its template and tokenizer).</summary>
    private DbrxChatClient Dbrx => client.GetService<DbrxChatClient>()
        ?? throw new InvalidOperationException("The render and tokenize endpoints need the DBRX chat client (services.AddDbrxChatClient).");

    /// <summary>Reads and maps a request, renders it as the engine would prefill it, and answers with <paramref name="answer"/> of its ids.</summary>
    private async Task<IResult> Respond<T>(HttpContext context, Func<CancellationToken, Task<MappedChatRequest>> read, Func<int[], T> answer, JsonTypeInfo<T> type)
    {
        MappedChatRequest? request = null;
        try
        {
            request = await read(context.RequestAborted);
            CheckModel(request.Model);
            return Results.Json(answer(Dbrx.RenderPrompt(request.Messages, request.Options, context.RequestAborted)), type);
        }
        catch (Exception e)
        {
            return refusal.Refuse(context, e, request);
        }
    }

    private void CheckModel(string requested)
    {
        if (requested != model.Id)
            throw ModelsEndpoint.NotFound(requested, model);
    }
}
