using System.Data.Common;
using Npgsql;

namespace Homeroom.Server.Data;

/// <summary>
/// Runs one parameterized statement for many rows inside one transaction: a prepared statement
/// looped on SQLite, batched round trips on PostgreSQL. Used by the hot-path writers (presence,
/// activity, command status), where EF change tracking per row would cost more than the write.
/// </summary>
public sealed class BulkSql(DatabaseOptions options)
{
    private const int PostgresBatchSize = 500;

    public DatabaseProvider Provider => options.Provider;

    /// <summary>Guids as the provider stores them (EF's SQLite mapping uses upper-case text).</summary>
    public object Id(Guid id) => options.Provider == DatabaseProvider.Sqlite ? id.ToString().ToUpperInvariant() : id;

    public object? Id(Guid? id) => id is { } value ? Id(value) : null;

    public async Task<DbConnection> OpenAsync(CancellationToken cancellationToken)
    {
        var connection = DatabaseSetup.CreateConnection(options);
        await connection.OpenAsync(cancellationToken);
        return connection;
    }

    /// <summary>Executes <paramref name="sql"/> once per row; <paramref name="bind"/> fills the values in the order of <paramref name="parameterNames"/>.</summary>
    public async Task<int> ExecuteManyAsync<T>(
        DbConnection connection,
        DbTransaction transaction,
        string sql,
        string[] parameterNames,
        IReadOnlyList<T> rows,
        Action<T, object?[]> bind,
        CancellationToken cancellationToken)
    {
        var values = new object?[parameterNames.Length];
        var affected = 0;
        if (connection is NpgsqlConnection npgsql)
        {
            for (var start = 0; start < rows.Count; start += PostgresBatchSize)
            {
                await using var batch = new NpgsqlBatch(npgsql, (NpgsqlTransaction)transaction);
                for (var i = start; i < Math.Min(rows.Count, start + PostgresBatchSize); i++)
                {
                    bind(rows[i], values);
                    var command = new NpgsqlBatchCommand(sql);
                    for (var p = 0; p < parameterNames.Length; p++)
                    {
                        command.Parameters.AddWithValue(parameterNames[p], values[p] ?? DBNull.Value);
                    }

                    batch.BatchCommands.Add(command);
                }

                affected += await batch.ExecuteNonQueryAsync(cancellationToken);
            }

            return affected;
        }

        await using var statement = connection.CreateCommand();
        statement.Transaction = transaction;
        statement.CommandText = sql;
        var parameters = new DbParameter[parameterNames.Length];
        for (var p = 0; p < parameterNames.Length; p++)
        {
            parameters[p] = statement.CreateParameter();
            parameters[p].ParameterName = parameterNames[p];
            statement.Parameters.Add(parameters[p]);
        }

        foreach (var row in rows)
        {
            bind(row, values);
            for (var p = 0; p < parameters.Length; p++)
            {
                parameters[p].Value = values[p] ?? DBNull.Value;
            }

            affected += await statement.ExecuteNonQueryAsync(cancellationToken);
        }

        return affected;
    }
}
