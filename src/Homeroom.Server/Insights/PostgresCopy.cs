using Npgsql;
using NpgsqlTypes;

namespace Homeroom.Server.Insights;

/// <summary>
/// Binary <c>COPY … FROM STDIN</c> on PostgreSQL: many rows in one stream, without a statement, a
/// parameter array or a conflict check per row. For tables the writer knows it only inserts into (the
/// district fill after its delete, a benchmark's seed); an upsert goes through <see cref="Data.BulkSql"/>.
/// Statement-level triggers fire once per copy, with every copied row in their transition table.
/// </summary>
public static class PostgresCopy
{
    /// <summary>
    /// Copies <paramref name="rows"/> into <paramref name="table"/>'s <paramref name="columns"/> in the
    /// connection's current transaction; <paramref name="bind"/> fills a row's values (int, long, Guid,
    /// string, byte[], UTC DateTime or null, in column order). Returns the rows copied.
    /// </summary>
    public static async Task<long> CopyAsync<T>(
        NpgsqlConnection connection, string table, IReadOnlyList<string> columns, IEnumerable<T> rows, Action<T, object?[]> bind, CancellationToken cancellationToken)
    {
        var values = new object?[columns.Count];
        long copied = 0;
        await using var import = await connection.BeginBinaryImportAsync(
            $"COPY {table} ({string.Join(", ", columns)}) FROM STDIN (FORMAT BINARY)", cancellationToken);
        foreach (var row in rows)
        {
            bind(row, values);
            await import.StartRowAsync(cancellationToken);
            foreach (var value in values)
            {
                await WriteAsync(import, value, cancellationToken);
            }

            copied++;
        }

        await import.CompleteAsync(cancellationToken);
        return copied;
    }

    private static Task WriteAsync(NpgsqlBinaryImporter import, object? value, CancellationToken cancellationToken) => value switch
    {
        null => import.WriteNullAsync(cancellationToken),
        int i => import.WriteAsync(i, NpgsqlDbType.Integer, cancellationToken),
        long l => import.WriteAsync(l, NpgsqlDbType.Bigint, cancellationToken),
        Guid g => import.WriteAsync(g, NpgsqlDbType.Uuid, cancellationToken),
        string s => import.WriteAsync(s, NpgsqlDbType.Text, cancellationToken),
        byte[] b => import.WriteAsync(b, NpgsqlDbType.Bytea, cancellationToken),
        DateTime d => import.WriteAsync(d, NpgsqlDbType.TimestampTz, cancellationToken),
        _ => throw new ArgumentException($"No COPY mapping for {value.GetType()}.", nameof(value)),
    };
}
