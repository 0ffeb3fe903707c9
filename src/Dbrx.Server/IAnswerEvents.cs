using Microsoft.Extensions.AI;

namespace Dbrx.Server;

/// <summary>What one API sends in a streamed answer: events per update, after the last one, and on a failure.</summary>
/// <typeparam name="T">A server-sent event as the API writes it.</typeparam>
internal interface IAnswerEvents<T>
{
    /// <summary>The events before the first update's.</summary>
    IEnumerable<T> Start();

    /// <summary>The events one update makes.</summary>
    IEnumerable<T> Add(ChatResponseUpdate update);

    /// <summary>The events after the last update, once the answer is complete (and anything it leaves behind done).</summary>
    ValueTask<IEnumerable<T>> FinishAsync();

    /// <summary>The event that ends a stream that failed after it started; <paramref name="message"/> says only where to look.</summary>
    T Fail(string message);
}
