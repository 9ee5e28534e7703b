using System.Diagnostics;
using Homeroom.Server.Apps;
using Homeroom.Server.Data;
using Microsoft.AspNetCore.Builder;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Diagnostics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Homeroom.Bench.Apps;

/// <summary>One reconciler pass: when it started, how long it took, and the database commands run inside it.</summary>
public sealed class PassRecord(TimeSpan startedAfter, long startTimestamp)
{
    private long _databaseTicks;
    private int _commands;

    public TimeSpan StartedAfter { get; } = startedAfter;
    public long StartTimestamp { get; } = startTimestamp;
    public TimeSpan Wall { get; set; }
    public string? Summary { get; set; }
    public TimeSpan Database => TimeSpan.FromTicks(Interlocked.Read(ref _databaseTicks));
    public int Commands => Volatile.Read(ref _commands);

    public void AddCommand(TimeSpan duration)
    {
        Interlocked.Add(ref _databaseTicks, duration.Ticks);
        Interlocked.Increment(ref _commands);
    }
}

/// <summary>
/// Watches the server's <see cref="AppInstallReconciler"/> from inside the process without changing it: the
/// reconciler gets a context factory that marks the pass's async flow when the pass opens its context (the
/// pass's first step), EF Core's diagnostic events add each command's duration to the marked pass (the
/// licence ledger and the command queue run in the same flow, so theirs count too), and the pass's own log
/// line (event 1601) closes it.
/// </summary>
public sealed class ReconcilerProbe : IObserver<DiagnosticListener>, IObserver<KeyValuePair<string, object?>>
{
    private static readonly AsyncLocal<PassRecord?> Current = new();
    private readonly List<PassRecord> _passes = [];
    private readonly long _origin = Stopwatch.GetTimestamp();

    public void Attach(WebApplicationBuilder builder)
    {
        DiagnosticListener.AllListeners.Subscribe(this);
        builder.Services.AddSingleton(sp => ActivatorUtilities.CreateInstance<AppInstallReconciler>(
            sp, new MarkingFactory(sp.GetRequiredService<IDbContextFactory<HomeroomDbContext>>(), this)));
        builder.Logging.AddProvider(new PassLogProvider());
        builder.Logging.AddFilter<PassLogProvider>(typeof(AppInstallReconciler).FullName, LogLevel.Information);
    }

    /// <summary>Forgets the passes so far.</summary>
    public void Reset()
    {
        lock (_passes)
        {
            _passes.Clear();
        }
    }

    /// <summary>The passes that did work (a pass with no assignment and no row returns before logging).</summary>
    public List<PassRecord> Passes()
    {
        lock (_passes)
        {
            return _passes.Where(p => p.Summary is not null).ToList();
        }
    }

    private PassRecord Start()
    {
        var now = Stopwatch.GetTimestamp();
        var record = new PassRecord(Stopwatch.GetElapsedTime(_origin, now), now);
        lock (_passes)
        {
            _passes.Add(record);
        }

        return record;
    }

    public void OnNext(DiagnosticListener value)
    {
        if (value.Name == DbLoggerCategory.Name)
        {
            value.Subscribe(this);
        }
    }

    public void OnNext(KeyValuePair<string, object?> value)
    {
        if (Current.Value is { } pass && value.Value is CommandEndEventData { } end
            && (value.Key == RelationalEventId.CommandExecuted.Name || value.Key == RelationalEventId.CommandError.Name))
        {
            pass.AddCommand(end.Duration);
        }
    }

    public void OnCompleted()
    {
    }

    public void OnError(Exception error)
    {
    }

    private sealed class MarkingFactory(IDbContextFactory<HomeroomDbContext> inner, ReconcilerProbe probe) : IDbContextFactory<HomeroomDbContext>
    {
        public HomeroomDbContext CreateDbContext()
        {
            // Not an async method: the mark is set in the calling pass's own flow and lasts until the pass returns.
            Current.Value = probe.Start();
            return inner.CreateDbContext();
        }

        public Task<HomeroomDbContext> CreateDbContextAsync(CancellationToken cancellationToken = default)
        {
            Current.Value = probe.Start();
            return inner.CreateDbContextAsync(cancellationToken);
        }
    }

    private sealed class PassLogProvider : ILoggerProvider
    {
        public ILogger CreateLogger(string categoryName) => new PassLogger();

        public void Dispose()
        {
        }
    }

    private sealed class PassLogger : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (eventId.Id == 1601 && Current.Value is { } pass)
            {
                pass.Wall = Stopwatch.GetElapsedTime(pass.StartTimestamp);
                pass.Summary = formatter(state, exception);
            }
        }
    }
}
