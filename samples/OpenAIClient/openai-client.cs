// The official OpenAI .NET SDK against `dbrx serve` (see the README, "OpenAI-compatible server"):
//
//   dotnet run samples/OpenAIClient/openai-client.cs -- http://127.0.0.1:8000/v1 tiny [API key]
#:package OpenAI
using System.ClientModel;
using OpenAI;
using OpenAI.Chat;

string endpoint = args.Length > 0 ? args[0] : "http://127.0.0.1:8000/v1";
string model = args.Length > 1 ? args[1] : "tiny";
string key = args.Length > 2 ? args[2] : "no-key";
var chat = new ChatClient(model, new ApiKeyCredential(key), new OpenAIClientOptions { Endpoint = new Uri(endpoint) });

ChatCompletion answer = await chat.CompleteChatAsync([new UserChatMessage("What is DBRX?")], new ChatCompletionOptions { MaxOutputTokenCount = 16 });
Console.WriteLine($"answer: {answer.Content[0].Text}");
Console.WriteLine($"finish: {answer.FinishReason}, usage: {answer.Usage.InputTokenCount} prompt ({answer.Usage.InputTokenDetails?.CachedTokenCount} cached) + {answer.Usage.OutputTokenCount} generated");

Console.Write("streamed: ");
await foreach (StreamingChatCompletionUpdate update in chat.CompleteChatStreamingAsync([new UserChatMessage("Hello!")], new ChatCompletionOptions { MaxOutputTokenCount = 16 }))
{
    foreach (ChatMessageContentPart part in update.ContentUpdate)
        Console.Write(part.Text);
}
Console.WriteLine();
