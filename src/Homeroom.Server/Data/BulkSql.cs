using System.Buffers;
using System.Data.Common;
using System.Globalization;
using System.Text;
using Microsoft.Data.Sqlite;
using Npgsql;
using NpgsqlTypes;
using SQLitePCL;

namespace Homeroom.Server.Data;

/// <summary>
/// Runs one parameterized statement for many rows inside one transaction: a prepared statement
/// looped on SQLite, batched round trips on PostgreSQL (<see cref="ExecuteManyAsync"/>); or many
/// rows per statement (<see cref="ExecuteRowsAsync"/>): a <c>VALUES</c> list of parameters on SQLite,
/// one array per column on PostgreSQL. Used by the hot-path writers (presence, activity, command
/// status, the insight rollups), where EF change tracking per row would cost more than the write.
/// </summary>
public sealed class BulkSql(DatabaseOptions options)
{
    private const int PostgresBatchSize = 500;

    /// <summary>
    /// Parameters per multi-row statement on SQLite (its limit is 32,766). <see cref="ExecuteRowsAsync"/>
    /// binds them by position on a statement it prepares once per call, so their number no longer costs a
    /// name lookup each (Microsoft.Data.Sqlite's commands look every parameter up by name, a linear search
    /// in SQLite, on every execution); <see cref="BindRows"/> (statements that return rows) still binds by name.
    /// </summary>
    public const int SqliteVariablesPerStatement = 256;

    /// <summary>Rows per statement on PostgreSQL (one array element each): bounds one message's size.</summary>
    public const int PostgresRowsPerStatement = 50_000;

    public DatabaseProvider Provider => options.Provider;

    /// <summary>Guids as the provider stores them (EF's SQLite mapping uses upper-case text).</summary>
    public object Id(Guid id) => options.Provider == DatabaseProvider.Sqlite ? id.ToString().ToUpperInvariant() : id;

    public object? Id(Guid? id) => id is { } value ? Id(value) : null;

    /// <summary>How many rows of <paramref name="columns"/> values one statement of <see cref="ExecuteRowsAsync"/> takes.</summary>
    public int RowsPerStatement(int columns) =>
        Provider == DatabaseProvider.Sqlite ? Math.Max(1, SqliteVariablesPerStatement / columns) : PostgresRowsPerStatement;

    /// <summary>
    /// A row source of <paramref name="rows"/> rows of <paramref name="columns"/> values, to follow
    /// <c>INSERT INTO t (…)</c> or to name in a <c>WITH v (…) AS (…)</c>: on SQLite
    /// <c>VALUES (@p0, @p1, …), (…)</c> (row r's column c is <c>@p{r × columns + c}</c>), on PostgreSQL
    /// <c>SELECT * FROM unnest(@a0, …)</c>, one array per column (<paramref name="rows"/> is then ignored).
    /// <see cref="BindRows"/> fills either.
    /// </summary>
    public string RowsSql(int rows, int columns)
    {
        var sql = new StringBuilder();
        if (Provider == DatabaseProvider.Postgres)
        {
            sql.Append("SELECT * FROM unnest(");
            for (var c = 0; c < columns; c++)
            {
                sql.Append(c == 0 ? "@a" : ", @a").Append(c.ToString(CultureInfo.InvariantCulture));
            }

            return sql.Append(')').ToString();
        }

        sql.Append("VALUES ");
        for (var r = 0; r < rows; r++)
        {
            sql.Append(r == 0 ? "(" : ", (");
            for (var c = 0; c < columns; c++)
            {
                sql.Append(c == 0 ? "@p" : ", @p").Append(((r * columns) + c).ToString(CultureInfo.InvariantCulture));
            }

            sql.Append(')');
        }

        return sql.ToString();
    }

    /// <summary>
    /// Binds rows <paramref name="start"/> to <paramref name="start"/> + <paramref name="count"/> of
    /// <paramref name="rows"/> to a command whose text holds <see cref="RowsSql"/>: parameters are added the
    /// first time and only given new values afterwards, so one command serves every statement of its size.
    /// PostgreSQL arrays take their element type from the values (int, long, Guid, DateTime, string, byte[]).
    /// </summary>
    public void BindRows<T>(DbCommand command, IReadOnlyList<T> rows, int start, int count, int columns, Action<T, object?[]> bind)
    {
        var values = new object?[columns];
        if (command is NpgsqlCommand npgsql)
        {
            var arrays = new object?[columns][];
            for (var c = 0; c < columns; c++)
            {
                arrays[c] = new object?[count];
            }

            for (var r = 0; r < count; r++)
            {
                bind(rows[start + r], values);
                for (var c = 0; c < columns; c++)
                {
                    arrays[c][r] = values[c];
                }
            }

            npgsql.Parameters.Clear();
            for (var c = 0; c < columns; c++)
            {
                npgsql.Parameters.Add(ArrayParameter("a" + c.ToString(CultureInfo.InvariantCulture), arrays[c]));
            }

            return;
        }

        var add = command.Parameters.Count == 0;
        for (var r = 0; r < count; r++)
        {
            bind(rows[start + r], values);
            for (var c = 0; c < columns; c++)
            {
                var index = (r * columns) + c;
                if (add)
                {
                    var parameter = command.CreateParameter();
                    parameter.ParameterName = "@p" + index.ToString(CultureInfo.InvariantCulture);
                    command.Parameters.Add(parameter);
                }

                command.Parameters[index].Value = values[c] ?? DBNull.Value;
            }
        }
    }

    /// <summary>
    /// Executes <paramref name="sql"/> (given a row count, a statement over <see cref="RowsSql"/> of that
    /// many rows) for every row of <paramref name="rows"/>, <see cref="RowsPerStatement"/> rows a
    /// statement, in their order; <paramref name="bind"/> fills a row's <paramref name="columns"/> values.
    /// Returns the rows affected. A statement must not touch a row twice (PostgreSQL refuses an upsert that does).
    /// </summary>
    public async Task<int> ExecuteRowsAsync<T>(
        DbConnection connection,
        DbTransaction transaction,
        Func<int, string> sql,
        int columns,
        IReadOnlyList<T> rows,
        Action<T, object?[]> bind,
        CancellationToken cancellationToken,
        SqliteStatements? statements = null)
    {
        if (connection is SqliteConnection sqlite)
        {
            cancellationToken.ThrowIfCancellationRequested();
            return ExecuteSqliteRows(sqlite, sql, columns, rows, bind, statements);
        }

        var perStatement = RowsPerStatement(columns);
        var affected = 0;
        DbCommand? full = null;
        try
        {
            for (var start = 0; start < rows.Count; start += perStatement)
            {
                var count = Math.Min(perStatement, rows.Count - start);
                if (count == perStatement)
                {
                    // Every full statement reuses one command, prepared once.
                    full ??= Command(connection, transaction, sql(count));
                    BindRows(full, rows, start, count, columns, bind);
                    affected += await full.ExecuteNonQueryAsync(cancellationToken);
                    continue;
                }

                await using var last = Command(connection, transaction, sql(count));
                BindRows(last, rows, start, count, columns, bind);
                affected += await last.ExecuteNonQueryAsync(cancellationToken);
            }
        }
        finally
        {
            if (full is not null)
            {
                await full.DisposeAsync();
            }
        }

        return affected;
    }

    /// <summary>
    /// SQLite: <see cref="ExecuteRowsAsync"/> through SQLite's own API (the connection's handle, in the
    /// connection's transaction): each statement shape is prepared once per call, its parameters' positions
    /// looked up once, and every value bound by position, strings as UTF-8 from one reused buffer. Values
    /// are bound as Microsoft.Data.Sqlite binds them (a DateTime as its text form, a bool as 0 or 1). With
    /// <paramref name="statements"/>, each shape is prepared once for all the calls that share them instead.
    /// </summary>
    private static int ExecuteSqliteRows<T>(SqliteConnection connection, Func<int, string> sql, int columns, IReadOnlyList<T> rows, Action<T, object?[]> bind, SqliteStatements? statements)
    {
        var db = connection.Handle ?? throw new InvalidOperationException("The SQLite connection is not open.");
        var perStatement = Math.Max(1, SqliteVariablesPerStatement / columns);
        var values = new object?[columns];
        var text = ArrayPool<byte>.Shared.Rent(1024);
        var affected = 0;
        (sqlite3_stmt Statement, int[] Positions)? full = null;
        try
        {
            for (var start = 0; start < rows.Count; start += perStatement)
            {
                var count = Math.Min(perStatement, rows.Count - start);
                var prepared = statements is not null ? statements.Get(db, sql(count), count * columns)
                    : count == perStatement ? full ??= Prepare(db, sql(count), count * columns) : Prepare(db, sql(count), count * columns);
                try
                {
                    for (var r = 0; r < count; r++)
                    {
                        bind(rows[start + r], values);
                        for (var c = 0; c < columns; c++)
                        {
                            Check(db, BindValue(prepared.Statement, prepared.Positions[(r * columns) + c], values[c], ref text));
                        }
                    }

                    var rc = raw.sqlite3_step(prepared.Statement);
                    if (rc != raw.SQLITE_DONE && rc != raw.SQLITE_ROW)
                    {
                        SqliteException.ThrowExceptionForRC(rc, db);
                    }

                    affected += raw.sqlite3_changes(db);
                }
                finally
                {
                    raw.sqlite3_reset(prepared.Statement);
                    if (statements is null && count != perStatement)
                    {
                        prepared.Statement.Dispose();
                    }
                }
            }
        }
        finally
        {
            full?.Statement.Dispose();
            ArrayPool<byte>.Shared.Return(text);
        }

        return affected;
    }

    /// <summary>Prepares a statement of <see cref="RowsSql"/> and finds where each of its <paramref name="parameters"/> parameters (@p0, @p1, …) sits.</summary>
    internal static (sqlite3_stmt Statement, int[] Positions) Prepare(sqlite3 db, string sql, int parameters)
    {
        Check(db, raw.sqlite3_prepare_v2(db, sql, out var statement));
        var positions = new int[parameters];
        for (var i = 0; i < parameters; i++)
        {
            positions[i] = raw.sqlite3_bind_parameter_index(statement, "@p" + i.ToString(CultureInfo.InvariantCulture));
            if (positions[i] == 0)
            {
                statement.Dispose();
                throw new InvalidOperationException($"The statement has no parameter @p{i}.");
            }
        }

        return (statement, positions);
    }

    private static int BindValue(sqlite3_stmt statement, int position, object? value, ref byte[] buffer)
    {
        switch (value)
        {
            case null or DBNull:
                return raw.sqlite3_bind_null(statement, position);
            case long l:
                return raw.sqlite3_bind_int64(statement, position, l);
            case int i:
                return raw.sqlite3_bind_int64(statement, position, i);
            case bool b:
                return raw.sqlite3_bind_int64(statement, position, b ? 1 : 0);
            case double d:
                return raw.sqlite3_bind_double(statement, position, d);
            case byte[] bytes:
                return raw.sqlite3_bind_blob(statement, position, bytes);
            case string s:
                return BindText(statement, position, s, ref buffer);
            case DateTime t:
                return BindText(statement, position, t.ToString(@"yyyy\-MM\-dd HH\:mm\:ss.FFFFFFF", CultureInfo.InvariantCulture), ref buffer);
            default:
                throw new NotSupportedException($"No SQLite binding for {value.GetType()}.");
        }
    }

    private static int BindText(sqlite3_stmt statement, int position, string value, ref byte[] buffer)
    {
        var length = Encoding.UTF8.GetMaxByteCount(value.Length);
        if (length > buffer.Length)
        {
            ArrayPool<byte>.Shared.Return(buffer);
            buffer = ArrayPool<byte>.Shared.Rent(length);
        }

        // SQLite copies the text (SQLITE_TRANSIENT), so the buffer is free again at once.
        var written = Encoding.UTF8.GetBytes(value, buffer);
        return raw.sqlite3_bind_text(statement, position, buffer.AsSpan(0, written));
    }

    private static void Check(sqlite3 db, int rc)
    {
        if (rc != raw.SQLITE_OK)
        {
            SqliteException.ThrowExceptionForRC(rc, db);
        }
    }

    private static DbCommand Command(DbConnection connection, DbTransaction transaction, string sql)
    {
        var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = sql;
        return command;
    }

    private static NpgsqlParameter ArrayParameter(string name, object?[] values)
    {
        var first = Array.Find(values, v => v is not null);
        return first switch
        {
            int => new NpgsqlParameter(name, NpgsqlDbType.Array | NpgsqlDbType.Integer) { Value = Array.ConvertAll(values, v => (int?)v) },
            long => new NpgsqlParameter(name, NpgsqlDbType.Array | NpgsqlDbType.Bigint) { Value = Array.ConvertAll(values, v => (long?)v) },
            Guid => new NpgsqlParameter(name, NpgsqlDbType.Array | NpgsqlDbType.Uuid) { Value = Array.ConvertAll(values, v => (Guid?)v) },
            DateTime => new NpgsqlParameter(name, NpgsqlDbType.Array | NpgsqlDbType.TimestampTz) { Value = Array.ConvertAll(values, v => (DateTime?)v) },
            byte[] => new NpgsqlParameter(name, NpgsqlDbType.Array | NpgsqlDbType.Bytea) { Value = Array.ConvertAll(values, v => (byte[]?)v) },
            string or null => new NpgsqlParameter(name, NpgsqlDbType.Array | NpgsqlDbType.Text) { Value = Array.ConvertAll(values, v => (string?)v) },
            _ => throw new NotSupportedException($"No PostgreSQL array for {first.GetType()}."),
        };
    }

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

/// <summary>
/// SQLite: statements of <see cref="BulkSql.ExecuteRowsAsync"/> kept prepared for as long as one connection does many
/// calls of the same shapes (the insight folder's flush: 15 tables in each of 64 partitions, each call otherwise
/// preparing its statements again). Dispose it before the connection closes.
/// </summary>
public sealed class SqliteStatements : IDisposable
{
    private readonly Dictionary<string, (sqlite3_stmt Statement, int[] Positions)> _prepared = new(StringComparer.Ordinal);
    private sqlite3? _db;

    internal (sqlite3_stmt Statement, int[] Positions) Get(sqlite3 db, string sql, int parameters)
    {
        if (_db is not null && !ReferenceEquals(_db, db))
        {
            throw new InvalidOperationException("Prepared statements belong to one connection.");
        }

        _db = db;
        if (!_prepared.TryGetValue(sql, out var prepared))
        {
            _prepared[sql] = prepared = BulkSql.Prepare(db, sql, parameters);
        }

        return prepared;
    }

    public void Dispose()
    {
        foreach (var (statement, _) in _prepared.Values)
        {
            statement.Dispose();
        }

        _prepared.Clear();
    }
}
