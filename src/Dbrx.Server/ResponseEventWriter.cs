using System.Text;
using Dbrx.Server.Wire;
using Microsoft.Extensions.AI;

namespace Dbrx.Server;

/// <summary>
/// Turns the chat client's updates for one response into the Responses API's typed events, in OpenAI's order, and
/// keeps the response they add up to: <c>response.created</c> and <c>response.in_progress</c>; per message
/// <c>response.output_item.added</c>, <c>response.content_part.added</c>, <c>response.output_text.delta</c>s,
/// <c>response.output_text.done</c>, <c>response.content_part.done</c>, <c>response.output_item.done</c>; per
/// function call <c>response.output_item.added</c>, one <c>response.function_call_arguments.delta</c> (a call comes
/// whole), <c>response.function_call_arguments.done</c>, <c>response.output_item.done</c>; then
/// <c>response.completed</c>, <c>response.incomplete</c> (the length limit) or <c>response.failed</c>. A whole
/// (unstreamed) response is the same writer's <see cref="Final"/>, so the two cannot differ.
/// </summary>
internal sealed class ResponseEventWriter(ResponseHeader header)
{
    private readonly List<ResponseItemWire> output = [];
    private readonly StringBuilder text = new();
    private string? messageId;
    private int sequence;
    private UsageDetails? usage;
    private ChatFinishReason? finishReason;

    /// <summary>The finished response, once <see cref="Finish"/> or <see cref="Fail"/> has run.</summary>
    public ResponseObject? Final { get; private set; }

    /// <summary>The events that open the stream.</summary>
    public IEnumerable<ResponseStreamEvent> Start()
    {
        yield return Event(new() { Type = "response.created", Response = OpenAIResponsesMapper.Response(header, "in_progress", []) });
        yield return Event(new() { Type = "response.in_progress", Response = OpenAIResponsesMapper.Response(header, "in_progress", []) });
    }

    /// <summary>The events one update makes: text joins the open message (opened by its first text), a call closes it and goes out whole.</summary>
    public IEnumerable<ResponseStreamEvent> Add(ChatResponseUpdate update)
    {
        foreach (AIContent content in update.Contents)
        {
            switch (content)
            {
                case TextContent { Text.Length: > 0 } delta:
                    foreach (ResponseStreamEvent e in OpenMessage())
                        yield return e;
                    text.Append(delta.Text);
                    yield return Event(new() { Type = "response.output_text.delta", ItemId = messageId, OutputIndex = output.Count - 1, ContentIndex = 0, Delta = delta.Text, Logprobs = [] });
                    break;
                case FunctionCallContent call:
                    foreach (ResponseStreamEvent e in CloseMessage())
                        yield return e;
                    foreach (ResponseStreamEvent e in Call(call))
                        yield return e;
                    break;
                case UsageContent counted:
                    usage = counted.Details;
                    break;
            }
        }
        finishReason = update.FinishReason ?? finishReason;
    }

    /// <summary>The events that end an answered response: its last message closed (an empty one when it said nothing), then the whole response.</summary>
    public IEnumerable<ResponseStreamEvent> Finish()
    {
        if (output.Count == 0)
        {
            foreach (ResponseStreamEvent e in OpenMessage())
                yield return e;
        }
        foreach (ResponseStreamEvent e in CloseMessage())
            yield return e;
        string status = finishReason == ChatFinishReason.Length ? "incomplete" : "completed";
        Final = OpenAIResponsesMapper.Response(header, status, output, usage);
        yield return Event(new() { Type = status == "incomplete" ? "response.incomplete" : "response.completed", Response = Final });
    }

    /// <summary>The event that ends a response that failed after it started; <paramref name="message"/> says where to look.</summary>
    public ResponseStreamEvent Fail(string message)
    {
        Final = OpenAIResponsesMapper.Response(header, "failed", output, usage, new ResponseErrorWire("server_error", message));
        return Event(new() { Type = "response.failed", Response = Final });
    }

    private IEnumerable<ResponseStreamEvent> OpenMessage()
    {
        if (messageId is not null)
            yield break;
        messageId = "msg_" + Guid.NewGuid().ToString("N");
        text.Clear();
        output.Add(OpenAIResponsesMapper.MessageItem(messageId, "in_progress", null));
        int index = output.Count - 1;
        yield return Event(new() { Type = "response.output_item.added", OutputIndex = index, Item = output[index] });
        yield return Event(new() { Type = "response.content_part.added", ItemId = messageId, OutputIndex = index, ContentIndex = 0, Part = new OutputTextWire { Text = "" } });
    }

    private IEnumerable<ResponseStreamEvent> CloseMessage()
    {
        if (messageId is not { } id)
            yield break;
        int index = output.Count - 1;
        string whole = text.ToString();
        output[index] = OpenAIResponsesMapper.MessageItem(id, "completed", whole);
        messageId = null;
        yield return Event(new() { Type = "response.output_text.done", ItemId = id, OutputIndex = index, ContentIndex = 0, Text = whole, Logprobs = [] });
        yield return Event(new() { Type = "response.content_part.done", ItemId = id, OutputIndex = index, ContentIndex = 0, Part = output[index].Content![0] });
        yield return Event(new() { Type = "response.output_item.done", OutputIndex = index, Item = output[index] });
    }

    private IEnumerable<ResponseStreamEvent> Call(FunctionCallContent call)
    {
        string id = "fc_" + Guid.NewGuid().ToString("N");
        string arguments = OpenAIChatMapper.ArgumentsText(call);
        int index = output.Count;
        output.Add(OpenAIResponsesMapper.CallItem(id, "in_progress", call, ""));
        yield return Event(new() { Type = "response.output_item.added", OutputIndex = index, Item = output[index] });
        yield return Event(new() { Type = "response.function_call_arguments.delta", ItemId = id, OutputIndex = index, Delta = arguments });
        yield return Event(new() { Type = "response.function_call_arguments.done", ItemId = id, OutputIndex = index, Name = call.Name, Arguments = arguments });
        output[index] = OpenAIResponsesMapper.CallItem(id, "completed", call, arguments);
        yield return Event(new() { Type = "response.output_item.done", OutputIndex = index, Item = output[index] });
    }

    private ResponseStreamEvent Event(ResponseStreamEvent e)
    {
        e.SequenceNumber = sequence++;
        return e;
    }
}
