using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Npgsql;

namespace Homeroom.Server.Data;

/// <summary>What a failed write tells about the data, the same for SQLite and PostgreSQL.</summary>
public static class DatabaseErrors
{
    private const int SqliteConstraint = 19;
    private const int SqliteUnique = 2067;
    private const int SqlitePrimaryKey = 1555;
    private const int SqliteForeignKey = 787;

    /// <summary>The write broke a unique rule (two requests creating the same name at once, for instance).</summary>
    public static bool IsUniqueViolation(Exception exception) => Inner(exception) switch
    {
        SqliteException s => s.SqliteErrorCode == SqliteConstraint && s.SqliteExtendedErrorCode is SqliteUnique or SqlitePrimaryKey,
        PostgresException p => p.SqlState == PostgresErrorCodes.UniqueViolation,
        _ => false,
    };

    /// <summary>The write referred to a row that is gone (deleted meanwhile).</summary>
    public static bool IsForeignKeyViolation(Exception exception) => Inner(exception) switch
    {
        SqliteException s => s.SqliteErrorCode == SqliteConstraint && s.SqliteExtendedErrorCode == SqliteForeignKey,
        PostgresException p => p.SqlState == PostgresErrorCodes.ForeignKeyViolation,
        _ => false,
    };

    private static Exception? Inner(Exception exception) => exception is DbUpdateException { InnerException: { } inner } ? inner : exception;
}
