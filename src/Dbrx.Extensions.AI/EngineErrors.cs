using System.Runtime.CompilerServices;
using Dbrx.Inference.Generation;

namespace Dbrx.Extensions.AI;

/// <summary>
/// The engine's refusals in the chat client's terms: a full queue becomes <see cref="DbrxChatBusyException"/>, a prompt
/// beyond the context <see cref="DbrxChatContextLengthException"/>, so a front end over <c>IChatClient</c> never needs
/// the engine's types.
/// </summary>
internal static class EngineErrors
{
    /// <summary>The adapter's exception for an engine exception it translates; the exception itself otherwise.</summary>
    public static Exception Translate(Exception error) => error switch
    {
        DbrxBusyException busy => new DbrxChatBusyException(busy.Message, busy),
        DbrxContextLengthException tooLong => new DbrxChatContextLengthException(tooLong.Message, tooLong.PromptTokens, tooLong.PromptTokensAtLeast, tooLong.MaxNewTokens, tooLong.ContextLength, tooLong),
        _ => error,
    };

    /// <summary>The engine's stream (started by <paramref name="start"/>), with its refusals translated, whenever they come.</summary>
    public static async IAsyncEnumerable<GenerationUpdate> Translated(Func<IAsyncEnumerable<GenerationUpdate>> start, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        IAsyncEnumerator<GenerationUpdate> updates;
        try
        {
            updates = start().GetAsyncEnumerator(cancellationToken);
        }
        catch (Exception e) when (e is DbrxBusyException or DbrxContextLengthException)
        {
            throw Translate(e);
        }
        await using (updates)
        {
            while (true)
            {
                bool more;
                try
                {
                    more = await updates.MoveNextAsync();
                }
                catch (Exception e) when (e is DbrxBusyException or DbrxContextLengthException)
                {
                    throw Translate(e);
                }
                if (!more)
                    yield break;
                yield return updates.Current;
            }
        }
    }
}
