using System.Text;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Logging;

namespace Dbrx.Extensions.AI;

/// <summary>
/// The text of a message's content as DBRX reads it: text, and attachments whose media type is text (decoded as
/// UTF-8, headed by their name). Content the model cannot read (images, audio, PDFs, other binary data, links to
/// files) fails the request with an error naming its media type, or, with
/// <see cref="DbrxChatClientOptions.SkipUnreadableContent"/>, is left out with a logged warning. Function calls and
/// results are rendered by the tool protocol; other content (usage, reasoning, errors) says nothing to the model.
/// </summary>
internal static class MessageContent
{
    /// <summary>The message's readable text.</summary>
    /// <exception cref="ArgumentException">The message holds content DBRX cannot read and skipping is off.</exception>
    public static string Text(ChatMessage message, int index, bool skipUnreadable, ILogger? logger)
    {
        var text = new StringBuilder();
        foreach (AIContent content in message.Contents)
        {
            switch (content)
            {
                case TextContent plain:
                    text.Append(plain.Text);
                    break;
                case DataContent data when IsText(data.MediaType):
                    if (text.Length > 0)
                        text.Append('\n');
                    if (data.Name is { Length: > 0 } name)
                        text.Append(name).Append(":\n");
                    text.Append(Encoding.UTF8.GetString(data.Data.Span));
                    break;
                case DataContent or UriContent or HostedFileContent:
                    string kind = content switch
                    {
                        DataContent data => $"data of media type '{data.MediaType}'",
                        UriContent uri => $"a link to '{uri.Uri}' of media type '{uri.MediaType}'",
                        _ => "a hosted file",
                    };
                    string what = $"Message {index} ({message.Role.Value}) holds {kind}, which DBRX cannot read (it reads text)";
                    if (!skipUnreadable)
                        throw new ArgumentException($"{what}. Remove it, or set DbrxChatClientOptions.SkipUnreadableContent to leave such content out (a warning is logged).");
                    logger?.LogWarning("{What}; it is left out (SkipUnreadableContent).", what);
                    break;
            }
        }
        return text.ToString();
    }

    /// <summary>Media types whose bytes are text the model can read.</summary>
    private static bool IsText(string mediaType) =>
        mediaType.StartsWith("text/", StringComparison.OrdinalIgnoreCase)
        || mediaType is "application/json" or "application/xml" or "application/x-yaml" or "application/yaml" or "application/javascript" or "application/x-ndjson"
        || mediaType.EndsWith("+json", StringComparison.OrdinalIgnoreCase) || mediaType.EndsWith("+xml", StringComparison.OrdinalIgnoreCase);
}
