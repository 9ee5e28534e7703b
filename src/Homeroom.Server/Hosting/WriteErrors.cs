using Microsoft.Data.Sqlite;
using Npgsql;

namespace Homeroom.Server.Hosting;

/// <summary>Tells a write the database refused for the data in it from one that failed because the database is unavailable.</summary>
public static class WriteErrors
{
    // SQLite primary result codes: https://sqlite.org/rescode.html
    private const int SqliteTooBig = 18;
    private const int SqliteConstraint = 19;
    private const int SqliteMismatch = 20;
    private const int SqliteRange = 25;

    /// <summary>
    /// True when retrying the same rows cannot succeed: PostgreSQL's data exceptions (class 22: NUL in
    /// text, a value out of range), integrity violations (class 23: rows of a deleted device) and
    /// program limits (class 54); SQLite's too-big, constraint, type-mismatch and range errors; and
    /// values the driver cannot send. Anything else (connection lost, timeout, busy, disk full) is
    /// worth retrying.
    /// </summary>
    public static bool IsDataError(Exception exception) => exception switch
    {
        PostgresException postgres => postgres.SqlState.StartsWith("22", StringComparison.Ordinal)
            || postgres.SqlState.StartsWith("23", StringComparison.Ordinal)
            || postgres.SqlState.StartsWith("54", StringComparison.Ordinal),
        SqliteException sqlite => sqlite.SqliteErrorCode is SqliteTooBig or SqliteConstraint or SqliteMismatch or SqliteRange,
        ArgumentException or InvalidCastException or FormatException or OverflowException => true,
        _ => false,
    };
}
