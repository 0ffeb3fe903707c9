using System.Diagnostics;
using Microsoft.Extensions.AI;

namespace Dbrx.Server;

/// <summary>One model request (a chat or text completion, a response) as the metrics see it: when its first update came, its usage, how it ended.</summary>
internal sealed class RequestObservation(DbrxServerMetrics metrics)
{
    /// <summary>Outcomes, as the <c>outcome</c> tag of <c>dbrx.server.requests</c>.</summary>
    public const string Ok = "ok", Cancelled = "cancelled", BadRequest = "bad_request", NotFound = "not_found", TooLarge = "too_large",
        Busy = "busy", Unavailable = "unavailable", Error = "error", Unauthorized = "unauthorized";

    private readonly long start = Stopwatch.GetTimestamp();
    private long? first;
    private UsageDetails? usage;
    private bool ended;

    /// <summary>Takes note of an update from the model: the first one times the first token; the last one carries the usage.</summary>
    public void Saw(ChatResponseUpdate update)
    {
        if (first is null)
        {
            first = Stopwatch.GetTimestamp();
            metrics.FirstToken(Stopwatch.GetElapsedTime(start, first.Value));
        }
        if (update.Contents.OfType<UsageContent>().FirstOrDefault() is { } content)
            usage = content.Details;
    }

    /// <summary>Records how the request ended (once), and for an answered one its tokens and time per output token.</summary>
    public void End(string outcome)
    {
        if (ended)
            return;
        ended = true;
        metrics.Ended(outcome);
        if (outcome != Ok || usage is null)
            return;
        long after = (usage.OutputTokenCount ?? 0) - 1;
        TimeSpan? perToken = first is { } f && after > 0 ? Stopwatch.GetElapsedTime(f) / after : null;
        metrics.Answered(usage, perToken);
    }

    /// <summary>The outcome an HTTP status stands for.</summary>
    public static string ForStatus(int status) => status switch
    {
        401 => Unauthorized,
        404 => NotFound,
        413 => TooLarge,
        429 => Busy,
        503 => Unavailable,
        >= 400 and < 500 => BadRequest,
        _ => Error,
    };
}
