using Microsoft.Extensions.Logging;

namespace Dbrx.Extensions.AI.Tests;

/// <summary>Collects log messages, for tests that check what is logged.</summary>
internal sealed class ListLoggerProvider : ILoggerProvider
{
    public List<string> Messages { get; } = [];

    /// <summary>The messages logged at warning level.</summary>
    public List<string> Warnings { get; } = [];

    /// <summary>Raised after each message is kept, on the logging thread.</summary>
    public event Action<string>? Logged;

    public ILogger CreateLogger(string categoryName) => new ListLogger(this);

    public void Dispose()
    {
    }

    private sealed class ListLogger(ListLoggerProvider sink) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            string message = formatter(state, exception);
            lock (sink.Messages)
            {
                sink.Messages.Add(message);
                if (logLevel == LogLevel.Warning)
                    sink.Warnings.Add(message);
            }
            sink.Logged?.Invoke(message);
        }
    }
}
