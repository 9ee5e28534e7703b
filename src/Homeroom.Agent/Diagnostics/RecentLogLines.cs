using System.Globalization;
using Microsoft.Extensions.Logging;

namespace Homeroom.Agent.Diagnostics;

/// <summary>
/// The agent's last log lines in memory (a bounded ring), for diagnostics reports. Each line is redacted as it
/// is recorded (<see cref="LogRedaction"/>), so a secret never sits in the ring, and cut to the report's line limit.
/// </summary>
public sealed class RecentLogLines(TimeProvider time) : ILoggerProvider
{
    /// <summary>Lines kept.</summary>
    public const int Capacity = 200;

    private readonly Queue<string> _lines = new(Capacity);
    private readonly Lock _gate = new();

    /// <summary>The newest lines, oldest first.</summary>
    public IReadOnlyList<string> Snapshot(int count)
    {
        lock (_gate)
        {
            return _lines.Skip(Math.Max(0, _lines.Count - count)).ToList();
        }
    }

    /// <summary>Records one line (redacted and cut).</summary>
    public void Add(LogLevel level, string category, string message)
    {
        var shortCategory = category[(category.LastIndexOf('.') + 1)..];
        var line = string.Create(CultureInfo.InvariantCulture, $"{time.GetUtcNow():yyyy-MM-ddTHH:mm:ssZ} {Level(level)} {shortCategory}: {message}");
        line = LogRedaction.Redact(line);
        if (line.Length > Contracts.Agents.DiagnosticsLimits.MaxLogLineLength)
        {
            line = line[..(Contracts.Agents.DiagnosticsLimits.MaxLogLineLength - 1)] + "…";
        }

        lock (_gate)
        {
            if (_lines.Count == Capacity)
            {
                _lines.Dequeue();
            }

            _lines.Enqueue(line);
        }
    }

    public ILogger CreateLogger(string categoryName) => new Recorder(this, categoryName);

    public void Dispose()
    {
    }

    private static string Level(LogLevel level) => level switch
    {
        LogLevel.Trace => "trce",
        LogLevel.Debug => "dbug",
        LogLevel.Information => "info",
        LogLevel.Warning => "warn",
        LogLevel.Error => "fail",
        _ => "crit",
    };

    private sealed class Recorder(RecentLogLines lines, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Information;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (!IsEnabled(logLevel))
            {
                return;
            }

            var message = formatter(state, exception);
            if (exception is not null)
            {
                message += " (" + exception.GetType().Name + ": " + exception.Message + ")";
            }

            lines.Add(logLevel, category, message);
        }
    }
}
