namespace Dbrx.Cli;

/// <summary>
/// Turns Ctrl+C into cancellation of the current generation instead of killing the process, for as long as it is
/// alive; a second Ctrl+C while nothing is listening ends the process as usual.
/// </summary>
internal sealed class InterruptToCancel : IDisposable
{
    private readonly CancellationTokenSource source = new();

    public InterruptToCancel() => Console.CancelKeyPress += OnCancel;

    public CancellationToken Token => source.Token;

    private void OnCancel(object? sender, ConsoleCancelEventArgs e)
    {
        if (source.IsCancellationRequested)
            return;
        e.Cancel = true;
        source.Cancel();
    }

    public void Dispose()
    {
        Console.CancelKeyPress -= OnCancel;
        source.Dispose();
    }
}
