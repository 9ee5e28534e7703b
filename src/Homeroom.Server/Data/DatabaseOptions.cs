using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;

namespace Homeroom.Server.Data;

public enum DatabaseProvider
{
    Sqlite,
    Postgres,
}

/// <summary>
/// Where data lives. SQLite in <see cref="DataDirectory"/> unless <c>ConnectionStrings:Postgres</c>
/// is set, in which case PostgreSQL is used.
/// </summary>
public sealed class DatabaseOptions
{
    public const string Section = "Homeroom";

    [Required]
    public string DataDirectory { get; set; } = "./data";

    public string? PostgresConnectionString { get; set; }

    /// <summary>
    /// For development and the tests: a query that takes the first row or a page without an order (EF's warnings 10102
    /// and 10103, which leave the answer to the database's whim) throws instead of logging a warning.
    /// </summary>
    public bool StrictQueries { get; set; }

    public DatabaseProvider Provider => string.IsNullOrWhiteSpace(PostgresConnectionString) ? DatabaseProvider.Sqlite : DatabaseProvider.Postgres;

    public string SqlitePath => Path.GetFullPath(Path.Combine(DataDirectory, "homeroom.db"));

    public string SqliteConnectionString => $"Data Source={SqlitePath};Pooling=True;Default Timeout=30";
}

/// <summary>Validates <see cref="DatabaseOptions"/> at start.</summary>
[OptionsValidator]
public sealed partial class DatabaseOptionsValidator : IValidateOptions<DatabaseOptions>;
