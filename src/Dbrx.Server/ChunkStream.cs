using System.Text.Json;
using Dbrx.Server.Wire;
using Microsoft.Extensions.AI;

namespace Dbrx.Server;

/// <summary>
/// Where a streamed chat completion stands: its id, model and creation time, and what each choice's chunks have said
/// so far; as <see cref="IAnswerEvents{T}"/>, its server-sent event data (chunks, then <c>[DONE]</c>).
/// </summary>
internal sealed class ChunkStream(string id, string model, long created, bool includeUsage, bool logProbabilities = false) : IAnswerEvents<string>
{
    private readonly Dictionary<int, Choice> choices = [];

    public string Id { get; } = id;

    public string Model { get; } = model;

    public long Created { get; } = created;

    public bool IncludeUsage { get; } = includeUsage;

    /// <summary>Whether the request asked for log-probabilities (chunks then carry those of their tokens).</summary>
    public bool LogProbabilities { get; } = logProbabilities;

    public IEnumerable<string> Start() => [];

    public IEnumerable<string> Add(ChatResponseUpdate update) =>
        OpenAIChatMapper.ToChunks(update, this).Select(chunk => JsonSerializer.Serialize(chunk, OpenAIJson.Wire.ChatCompletionChunk));

    public ValueTask<IEnumerable<string>> FinishAsync() => ValueTask.FromResult<IEnumerable<string>>(["[DONE]"]);

    public string Fail(string message) =>
        JsonSerializer.Serialize(new OpenAIErrorResponse(new OpenAIError(message, "server_error", null, null)), OpenAIJson.Wire.OpenAIErrorResponse);

    /// <summary>Choice <paramref name="index"/>'s state.</summary>
    public Choice Of(int index)
    {
        if (!choices.TryGetValue(index, out Choice? choice))
            choices[index] = choice = new Choice();
        return choice;
    }

    /// <summary>What one choice's chunks have said.</summary>
    public sealed class Choice
    {
        /// <summary>Whether its first chunk, which carries the role, has gone out.</summary>
        public bool RoleSent { get; set; }

        /// <summary>Tool calls it sent so far: the next one's index.</summary>
        public int ToolCalls { get; set; }
    }
}
