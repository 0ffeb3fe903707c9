using System.ClientModel;
using System.Text.Json;
using Json.Schema;
using Microsoft.Extensions.AI;
using OpenAI.Responses;

namespace Dbrx.Server.Tests;

/// <summary>The official OpenAI .NET SDK's Responses client (OpenAI 2.14.0) against <c>/v1/responses</c>.</summary>
[Collection("Server")]
public sealed class ResponsesSdkTests(ServerFixture fixture)
{
    private const string ForecastSchema = """{"type":"object","properties":{"city":{"type":"string"},"days":{"type":"integer"}},"required":["city","days"],"additionalProperties":false}""";

    private readonly ResponsesClient responses = fixture.Server.OpenAI().GetResponsesClient();
    private static CancellationToken Cancellation => TestContext.Current.CancellationToken;

    private static CreateResponseOptions Options(params ResponseItem[] input) => new(TinyModel.Id, input) { Temperature = 0, StoredOutputEnabled = false };

    [Fact]
    public async Task AWholeResponseHasTheTextTheLengthLimitAndUsage()
    {
        CreateResponseOptions options = Options(ResponseItem.CreateUserMessageItem("Say hello."));
        options.Instructions = "You are terse.";
        options.MaxOutputTokenCount = 12;

        ResponseResult response = await responses.CreateResponseAsync(options, Cancellation);

        Assert.StartsWith("resp_", response.Id);
        Assert.Equal(TinyModel.Id, response.Model);
        Assert.Equal(ResponseStatus.Incomplete, response.Status);
        Assert.Equal(ResponseIncompleteStatusReason.MaxOutputTokens, response.IncompleteStatusDetails.Reason);
        MessageResponseItem message = Assert.IsAssignableFrom<MessageResponseItem>(Assert.Single(response.OutputItems));
        Assert.StartsWith("msg_", message.Id);
        Assert.Equal(ResponseContentPartKind.OutputText, Assert.Single(message.Content).Kind);
        Assert.NotEmpty(response.GetOutputText());
        Assert.Equal(12, response.Usage.OutputTokenCount);
        Assert.Equal(response.Usage.InputTokenCount + response.Usage.OutputTokenCount, response.Usage.TotalTokenCount);
        // The instructions are the system turn before the input.
        var (messages, chatOptions) = fixture.Server.Requests.Last();
        Assert.Equal([ChatRole.System, ChatRole.User], messages.Select(m => m.Role));
        Assert.Equal("You are terse.", messages[0].Text);
        Assert.Equal(12, chatOptions!.MaxOutputTokens);
    }

    [Fact]
    public async Task StreamedEventsComeInOpenAIsOrderAndTheirDeltasJoinToTheWholeText()
    {
        CreateResponseOptions options = Options(ResponseItem.CreateUserMessageItem("Count to five."));
        options.MaxOutputTokenCount = 16;
        ResponseResult whole = await responses.CreateResponseAsync(options, Cancellation);

        options.StreamingEnabled = true;
        var updates = new List<StreamingResponseUpdate>();
        await foreach (StreamingResponseUpdate update in responses.CreateResponseStreamingAsync(options, Cancellation))
            updates.Add(update);

        Assert.Equal(Enumerable.Range(0, updates.Count), updates.Select(u => u.SequenceNumber));
        Assert.IsType<StreamingResponseCreatedUpdate>(updates[0]);
        Assert.IsType<StreamingResponseInProgressUpdate>(updates[1]);
        Assert.IsType<StreamingResponseOutputItemAddedUpdate>(updates[2]);
        Assert.IsType<StreamingResponseContentPartAddedUpdate>(updates[3]);
        Assert.True(updates.OfType<StreamingResponseOutputTextDeltaUpdate>().Count() > 3, "one delta per update");
        Assert.Equal(
            [typeof(StreamingResponseOutputTextDoneUpdate), typeof(StreamingResponseContentPartDoneUpdate), typeof(StreamingResponseOutputItemDoneUpdate), typeof(StreamingResponseIncompleteUpdate)],
            updates[^4..].Select(u => u.GetType()));
        string streamed = string.Concat(updates.OfType<StreamingResponseOutputTextDeltaUpdate>().Select(u => u.Delta));
        Assert.Equal(whole.GetOutputText(), streamed);
        Assert.Equal(streamed, updates.OfType<StreamingResponseOutputTextDoneUpdate>().Single().Text);
        ResponseResult final = ((StreamingResponseIncompleteUpdate)updates[^1]).Response;
        Assert.Equal(whole.GetOutputText(), final.GetOutputText());
        Assert.Equal(16, final.Usage.OutputTokenCount);
        // The same input again starts from the first request's cache.
        Assert.True(final.Usage.InputTokenDetails.CachedTokenCount > 0);
    }

    [Fact]
    public async Task AFunctionToolRoundTripSendsTheCallAndItsOutputBack()
    {
        CreateResponseOptions options = Options(ResponseItem.CreateUserMessageItem("Weather in Oslo for 3 days?"));
        options.MaxOutputTokenCount = 80;
        options.Tools.Add(ResponseTool.CreateFunctionTool("get_forecast", BinaryData.FromString(ForecastSchema), true, "Weather forecast for a city."));
        options.ToolChoice = ResponseToolChoice.CreateRequiredChoice();
        options.ParallelToolCallsEnabled = false;

        ResponseResult response = await responses.CreateResponseAsync(options, Cancellation);

        Assert.Equal(ResponseStatus.Completed, response.Status);
        FunctionCallResponseItem call = Assert.IsType<FunctionCallResponseItem>(Assert.Single(response.OutputItems));
        Assert.Equal("get_forecast", call.FunctionName);
        Assert.StartsWith("call_", call.CallId);
        Assert.StartsWith("fc_", call.Id);
        using JsonDocument arguments = JsonDocument.Parse(call.FunctionArguments);
        Assert.True(JsonSchema.FromText(ForecastSchema).Evaluate(arguments.RootElement).IsValid, call.FunctionArguments.ToString());

        // The call and its output go back, and the conversation goes on.
        CreateResponseOptions next = Options(ResponseItem.CreateUserMessageItem("Weather in Oslo for 3 days?"), call, ResponseItem.CreateFunctionCallOutputItem(call.CallId, "Rain, 8 °C."));
        next.MaxOutputTokenCount = 8;
        next.Tools.Add(options.Tools[0]);
        ResponseResult answer = await responses.CreateResponseAsync(next, Cancellation);

        Assert.NotEmpty(answer.GetOutputText());
        var (messages, _) = fixture.Server.Requests.Last();
        Assert.Equal([ChatRole.User, ChatRole.Assistant, ChatRole.Tool], messages.Select(m => m.Role));
        FunctionCallContent sent = Assert.IsType<FunctionCallContent>(Assert.Single(messages[1].Contents));
        Assert.Equal((call.CallId, "get_forecast"), (sent.CallId, sent.Name));
        FunctionResultContent result = Assert.IsType<FunctionResultContent>(Assert.Single(messages[2].Contents));
        Assert.Equal((call.CallId, "Rain, 8 °C."), (result.CallId, result.Result as string));
    }

    [Fact]
    public async Task StreamedFunctionCallsComeAsItemsWithArgumentEvents()
    {
        CreateResponseOptions options = Options(ResponseItem.CreateUserMessageItem("Weather in Oslo?"));
        options.MaxOutputTokenCount = 80;
        options.Tools.Add(ResponseTool.CreateFunctionTool("get_forecast", BinaryData.FromString(ForecastSchema), true, "Weather forecast for a city."));
        options.ToolChoice = ResponseToolChoice.CreateFunctionChoice("get_forecast");

        options.StreamingEnabled = true;
        var updates = new List<StreamingResponseUpdate>();
        await foreach (StreamingResponseUpdate update in responses.CreateResponseStreamingAsync(options, Cancellation))
            updates.Add(update);

        Assert.Equal(
            [typeof(StreamingResponseCreatedUpdate), typeof(StreamingResponseInProgressUpdate), typeof(StreamingResponseOutputItemAddedUpdate),
             typeof(StreamingResponseFunctionCallArgumentsDeltaUpdate), typeof(StreamingResponseFunctionCallArgumentsDoneUpdate),
             typeof(StreamingResponseOutputItemDoneUpdate), typeof(StreamingResponseCompletedUpdate)],
            updates.Select(u => u.GetType()));
        var done = (StreamingResponseFunctionCallArgumentsDoneUpdate)updates[4];
        Assert.Equal("get_forecast", done.FunctionName);
        Assert.Equal(((StreamingResponseFunctionCallArgumentsDeltaUpdate)updates[3]).Delta.ToString(), done.FunctionArguments.ToString());
        FunctionCallResponseItem item = Assert.IsType<FunctionCallResponseItem>(((StreamingResponseOutputItemDoneUpdate)updates[5]).Item);
        Assert.Equal(done.FunctionArguments.ToString(), item.FunctionArguments.ToString());
        Assert.True(JsonSchema.FromText(ForecastSchema).Evaluate(JsonDocument.Parse(item.FunctionArguments).RootElement).IsValid);
    }

    [Fact]
    public async Task AJsonSchemaFormatGivesTextValidAgainstTheSchema()
    {
        const string schema = """{"type":"object","properties":{"name":{"type":"string"},"retired":{"type":"boolean"},"tags":{"type":"array","items":{"type":"string"}}},"required":["name","retired","tags"],"additionalProperties":false}""";
        CreateResponseOptions options = Options(ResponseItem.CreateUserMessageItem("Describe a person."));
        options.MaxOutputTokenCount = 200;
        options.TextOptions = new ResponseTextOptions { TextFormat = ResponseTextFormat.CreateJsonSchemaFormat("person", BinaryData.FromString(schema), null, true) };

        ResponseResult response = await responses.CreateResponseAsync(options, Cancellation);

        Assert.Equal(ResponseStatus.Completed, response.Status);
        using JsonDocument answer = JsonDocument.Parse(response.GetOutputText());
        Assert.True(JsonSchema.FromText(schema).Evaluate(answer.RootElement).IsValid, response.GetOutputText());
        Assert.Equal(ResponseTextFormatKind.JsonSchema, response.TextOptions.TextFormat.Kind);
    }

    [Fact]
    public async Task PreviousResponseIdContinuesTheStoredConversationFromTheCache()
    {
        CreateResponseOptions first = Options(ResponseItem.CreateUserMessageItem("My name is Ada. Remember it."));
        first.StoredOutputEnabled = true;
        first.MaxOutputTokenCount = 10;
        ResponseResult earlier = await responses.CreateResponseAsync(first, Cancellation);

        CreateResponseOptions second = Options(ResponseItem.CreateUserMessageItem("What is my name?"));
        second.PreviousResponseId = earlier.Id;
        second.MaxOutputTokenCount = 10;
        ResponseResult later = await responses.CreateResponseAsync(second, Cancellation);

        Assert.Equal(earlier.Id, later.PreviousResponseId);
        var (messages, _) = fixture.Server.Requests.Last();
        Assert.Equal(["My name is Ada. Remember it.", earlier.GetOutputText(), "What is my name?"], messages.Select(m => m.Text));
        Assert.Equal([ChatRole.User, ChatRole.Assistant, ChatRole.User], messages.Select(m => m.Role));
        // The replayed turn is the earlier request's prompt and answer: its tokens come from the prefix cache.
        Assert.True(later.Usage.InputTokenDetails.CachedTokenCount > 0, $"cached {later.Usage.InputTokenDetails.CachedTokenCount} of {later.Usage.InputTokenCount}");
        Assert.True(later.Usage.InputTokenCount > earlier.Usage.InputTokenCount + earlier.Usage.OutputTokenCount - 1);
    }

    [Fact]
    public async Task AStoredResponseCanBeReadBackAndDeleted()
    {
        CreateResponseOptions options = Options(ResponseItem.CreateUserMessageItem("Name a colour."));
        options.StoredOutputEnabled = true;
        options.MaxOutputTokenCount = 6;
        ResponseResult created = await responses.CreateResponseAsync(options, Cancellation);

        ResponseResult read = await responses.GetResponseAsync(created.Id, Cancellation);
        Assert.Equal(created.Id, read.Id);
        Assert.Equal(created.GetOutputText(), read.GetOutputText());
        Assert.Equal(created.Usage.TotalTokenCount, read.Usage.TotalTokenCount);
        Assert.Equal(created.CreatedAt, read.CreatedAt);

        ResponseDeletionResult deleted = await responses.DeleteResponseAsync(created.Id, Cancellation);
        Assert.Equal((created.Id, true, "response"), (deleted.ResponseId, deleted.Deleted, deleted.Object));
        var gone = await Assert.ThrowsAsync<ClientResultException>(() => responses.GetResponseAsync(created.Id, Cancellation));
        Assert.Equal(404, gone.Status);
        var again = await Assert.ThrowsAsync<ClientResultException>(() => responses.DeleteResponseAsync(created.Id, Cancellation));
        Assert.Equal(404, again.Status);
    }

    [Fact]
    public async Task AResponseNotStoredIsNotFound()
    {
        ResponseResult created = await responses.CreateResponseAsync(Options(ResponseItem.CreateUserMessageItem("Hi.")), Cancellation);

        var missing = await Assert.ThrowsAsync<ClientResultException>(() => responses.GetResponseAsync(created.Id, Cancellation));
        Assert.Equal(404, missing.Status);
    }
}
