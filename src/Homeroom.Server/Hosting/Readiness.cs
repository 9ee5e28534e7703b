using System.ComponentModel.DataAnnotations;
using Homeroom.Server.Data;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using Npgsql;

namespace Homeroom.Server.Hosting;

/// <summary>What <c>GET /readyz</c> answers, as one word: only <see cref="Ready"/> is a 200.</summary>
public enum ReadinessState
{
    Ready,

    /// <summary>The server has not started listening yet, or start-up work (the demo's seeding) is not done.</summary>
    Starting,

    /// <summary>The database did not answer a trivial query within <see cref="ReadinessOptions.DatabaseTimeout"/>.</summary>
    Unavailable,

    /// <summary>The server is shutting down: a load balancer should send nothing new here.</summary>
    Stopping,
}

/// <summary>
/// Whether this node can serve now, for a load balancer's health check (<c>GET /readyz</c>; <c>/healthz</c> stays the
/// liveness check): started (migrations ran before the server listens; start-up work holds it back with
/// <see cref="HoldStartup"/>), not stopping (read from <see cref="IHostApplicationLifetime.ApplicationStopping"/> at every
/// request, so it answers 503 from the first moment of a shutdown, whatever order the stopping callbacks run in) and its
/// database answering. Database probes are shared: at most one runs at a time, and its answer is reused for
/// <see cref="ReadinessOptions.ReuseFor"/>, so anonymous callers cannot make the endpoint cost more than one query a second.
/// On PostgreSQL the probe has a pool of its own (one connection): a node whose request pool is busy, as in a connect storm,
/// is loaded, not cut off from its database, and a balancer that took it out would send the whole storm to the others.
/// </summary>
public sealed class Readiness(
    IDbContextFactory<HomeroomDbContext> dbFactory,
    DatabaseOptions database,
    IHostApplicationLifetime lifetime,
    IOptions<ReadinessOptions> options,
    TimeProvider time,
    ILogger<Readiness> logger)
{
    private readonly ReadinessOptions _options = options.Value;
    private readonly Lock _gate = new();
    private int _holds;
    private Task<bool>? _probe;
    private long _probedAt;
    private bool _lastAnswer = true;
    private bool _probed;
    private readonly string? _probeConnectionString = database.Provider == DatabaseProvider.Postgres
        ? new NpgsqlConnectionStringBuilder(database.PostgresConnectionString)
        {
            // A different application name is a different pool in Npgsql; one connection is enough for one probe at a time.
            ApplicationName = "homeroom-readiness",
            MinPoolSize = 0,
            MaxPoolSize = 1,
            Timeout = Math.Max(1, (int)Math.Ceiling(options.Value.DatabaseTimeout.TotalSeconds)),
        }.ConnectionString
        : null;

    /// <summary>Keeps the node <see cref="ReadinessState.Starting"/> until the returned handle is disposed (taken before the host starts).</summary>
    public IDisposable HoldStartup()
    {
        Interlocked.Increment(ref _holds);
        return new Hold(this);
    }

    public async Task<ReadinessState> CheckAsync(CancellationToken cancellationToken)
    {
        if (lifetime.ApplicationStopping.IsCancellationRequested)
        {
            return ReadinessState.Stopping;
        }

        if (!lifetime.ApplicationStarted.IsCancellationRequested || Volatile.Read(ref _holds) > 0)
        {
            return ReadinessState.Starting;
        }

        Task<bool> probe;
        lock (_gate)
        {
            if (_probed && _probe is null && time.GetElapsedTime(_probedAt) < _options.ReuseFor)
            {
                return _lastAnswer ? ReadinessState.Ready : ReadinessState.Unavailable;
            }

            probe = _probe ??= ProbeAsync();
        }

        bool answered;
        try
        {
            answered = await probe.WaitAsync(_options.DatabaseTimeout, time, cancellationToken);
        }
        catch (TimeoutException)
        {
            answered = false;
        }

        if (lifetime.ApplicationStopping.IsCancellationRequested)
        {
            return ReadinessState.Stopping;
        }

        return answered ? ReadinessState.Ready : ReadinessState.Unavailable;
    }

    /// <summary>One trivial query that needs the database itself (on SQLite, a read of its schema table; on PostgreSQL, a session).</summary>
    private async Task<bool> ProbeAsync()
    {
        // Off the caller's lock: the query starts once the lock is released.
        await Task.Yield();
        Exception? failure = null;
        try
        {
            using var timeout = new CancellationTokenSource(_options.DatabaseTimeout, time);
            if (_probeConnectionString is not null)
            {
                await using var connection = new NpgsqlConnection(_probeConnectionString);
                await connection.OpenAsync(timeout.Token);
                await ExecuteAsync(connection, "SELECT 1", timeout.Token);
            }
            else
            {
                await using var db = await dbFactory.CreateDbContextAsync(timeout.Token);
                await db.Database.OpenConnectionAsync(timeout.Token);
                await ExecuteAsync(db.Database.GetDbConnection(), "SELECT count(*) FROM sqlite_schema", timeout.Token);
            }
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            failure = ex;
        }

        lock (_gate)
        {
            var wasAnswering = _lastAnswer;
            _lastAnswer = failure is null;
            _probed = true;
            _probedAt = time.GetTimestamp();
            _probe = null;
            if (wasAnswering && failure is not null)
            {
                ReadinessLog.DatabaseNotAnswering(logger, _options.DatabaseTimeout, failure);
            }
            else if (!wasAnswering && failure is null)
            {
                ReadinessLog.DatabaseAnswersAgain(logger);
            }
        }

        return failure is null;
    }

    private async Task ExecuteAsync(System.Data.Common.DbConnection connection, string sql, CancellationToken cancellationToken)
    {
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.CommandTimeout = Math.Max(1, (int)Math.Ceiling(_options.DatabaseTimeout.TotalSeconds));
        await command.ExecuteScalarAsync(cancellationToken);
    }

    private sealed class Hold(Readiness readiness) : IDisposable
    {
        private int _released;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _released, 1) == 0)
            {
                Interlocked.Decrement(ref readiness._holds);
            }
        }
    }
}

/// <summary>How <c>/readyz</c> probes the database (<c>Homeroom:Readiness</c>).</summary>
public sealed class ReadinessOptions
{
    public const string Section = "Homeroom:Readiness";

    /// <summary>How long the trivial query may take before the node answers 503 (a load balancer's check usually waits 2 s or more).</summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "00:00:30")]
    public TimeSpan DatabaseTimeout { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>How long one probe's answer is reused for the next callers (0: every call probes, one at a time).</summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:01:00")]
    public TimeSpan ReuseFor { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// How long a stopping node keeps listening and holding its agents after <c>/readyz</c> starts answering 503, so a load
    /// balancer marks it down before its agents reconnect (<see cref="ShutdownDrain"/>): longer than the balancer needs to
    /// see it fail (HAProxy in <c>scripts/cluster.sh</c>: two checks 0.5 to 1 s apart). 0 on a single server.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:01:00")]
    public TimeSpan DrainDelay { get; set; } = TimeSpan.Zero;
}

/// <summary>Validates <see cref="ReadinessOptions"/> at start.</summary>
[OptionsValidator]
public sealed partial class ReadinessOptionsValidator : IValidateOptions<ReadinessOptions>;

/// <summary>Registers and maps the readiness check.</summary>
public static class ReadinessServiceCollectionExtensions
{
    public const string Path = "/readyz";

    public static IServiceCollection AddReadiness(this IServiceCollection services)
    {
        services.AddOptions<ReadinessOptions>().BindConfiguration(ReadinessOptions.Section).ValidateOnStart();
        services.AddSingleton<IValidateOptions<ReadinessOptions>, ReadinessOptionsValidator>();
        services.AddSingleton<Readiness>();
        services.AddSingleton<ShutdownDrain>();
        return services;
    }

    /// <summary>Anonymous, like <c>/healthz</c>, and outside the API's document: a word, never data.</summary>
    public static WebApplication MapReadiness(this WebApplication app)
    {
        app.MapGet(Path, async (Readiness readiness, HttpContext context) =>
        {
            var state = await readiness.CheckAsync(context.RequestAborted);
            context.Response.Headers.CacheControl = "no-store";
            return Results.Text(
                state switch
                {
                    ReadinessState.Ready => "ready",
                    ReadinessState.Starting => "starting",
                    ReadinessState.Unavailable => "unavailable",
                    _ => "stopping",
                },
                "text/plain",
                statusCode: state == ReadinessState.Ready ? StatusCodes.Status200OK : StatusCodes.Status503ServiceUnavailable);
        }).AllowAnonymous().ExcludeFromDescription();
        return app;
    }
}

internal static partial class ReadinessLog
{
    [LoggerMessage(EventId = 9005, Level = LogLevel.Warning, Message = "Not ready: the database did not answer within {Timeout}; /readyz answers 503 until it does")]
    public static partial void DatabaseNotAnswering(ILogger logger, TimeSpan timeout, Exception exception);

    [LoggerMessage(EventId = 9006, Level = LogLevel.Information, Message = "Ready again: the database answers")]
    public static partial void DatabaseAnswersAgain(ILogger logger);
}
