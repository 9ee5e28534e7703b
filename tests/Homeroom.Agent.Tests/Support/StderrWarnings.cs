using Microsoft.Extensions.Logging;

namespace Homeroom.Agent.Tests.Support;

/// <summary>
/// Writes the warnings and errors of the agent's session code (the service's helper channel and the helper itself) to
/// standard error, which the test run's log keeps: when a test sees a helper "go away", the reason is in the log
/// beside the failure. Everything else stays quiet unless HOMEROOM_TEST_LOGS=1.
/// </summary>
public sealed class StderrWarnings : ILoggerProvider
{
    private const string Prefix = "Homeroom.Agent.Session";

    public static ILogger Helper { get; } = new StderrWarnings().CreateLogger(Prefix + ".SessionHelper");

    public ILogger CreateLogger(string categoryName) => new Logger(categoryName);

    public void Dispose()
    {
    }

    private sealed class Logger(string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Warning && category.StartsWith(Prefix, StringComparison.Ordinal);

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (IsEnabled(logLevel))
            {
                Console.Error.WriteLine($"[agent test {DateTime.UtcNow:HH:mm:ss.fff}] {logLevel} {category}: {formatter(state, exception)}{(exception is null ? "" : " " + exception)}");
            }
        }
    }
}
