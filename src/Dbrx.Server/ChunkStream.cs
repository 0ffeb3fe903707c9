namespace Dbrx.Server;

/// <summary>Where a streamed answer stands: its id, model and creation time, and what each choice's chunks have said so far.</summary>
internal sealed class ChunkStream(string id, string model, long created, bool includeUsage, bool logProbabilities = false)
{
    private readonly Dictionary<int, Choice> choices = [];

    public string Id { get; } = id;

    public string Model { get; } = model;

    public long Created { get; } = created;

    public bool IncludeUsage { get; } = includeUsage;

    /// <summary>Whether the request asked for log-probabilities (chunks then carry those of their tokens).</summary>
    public bool LogProbabilities { get; } = logProbabilities;

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
