namespace Dbrx.Inference.Chat;

/// <summary>One message of a conversation as the chat template sees it.</summary>
/// <param name="Role"><c>system</c>, <c>user</c>, <c>assistant</c>, <c>tool</c> or any role the caller uses.</param>
/// <param name="Content">The message text; rendered as ordinary text, never as special tokens.</param>
public sealed record DbrxChatMessage(string Role, string Content)
{
    /// <summary>A system message.</summary>
    public static DbrxChatMessage System(string content) => new("system", content);

    /// <summary>A user message.</summary>
    public static DbrxChatMessage User(string content) => new("user", content);

    /// <summary>An assistant message.</summary>
    public static DbrxChatMessage Assistant(string content) => new("assistant", content);
}
