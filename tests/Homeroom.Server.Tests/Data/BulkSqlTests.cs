using System.Globalization;
using Homeroom.Server.Data;
using Homeroom.Server.Tests.Infrastructure;

namespace Homeroom.Server.Tests.Data;

/// <summary>
/// Many rows a statement (<see cref="BulkSql.ExecuteRowsAsync"/>): every row stored once with its values
/// (nulls, GUIDs, blobs), across full statements and a shorter last one, and an upsert adds to what rows hold.
/// </summary>
public abstract class BulkSqlTests(DatabaseProvider provider) : IAsyncLifetime
{
    private HomeroomHost _host = null!;

    public async Task InitializeAsync() => _host = await HomeroomHost.StartAsync(provider);

    public async Task DisposeAsync() => await _host.DisposeAsync();

    private sealed record Item(int Key, Guid Id, string? Note, byte[] Data, long Amount);

    [Fact]
    public async Task ExecuteRowsAsync_ManyRowsThenAnUpsertOfSome_StoresEachRowOnceAndAddsTheUpsertedAmounts()
    {
        var bulk = _host.GetService<BulkSql>();
        var random = new Random(20261203);
        // SQLite: three full statements and a shorter last one; PostgreSQL: one statement of arrays.
        var count = Math.Min((bulk.RowsPerStatement(5) * 3) + 7, 2_003);
        var items = Enumerable.Range(0, count)
            .Select(i => new Item(i, Guid.NewGuid(), random.Next(4) == 0 ? null : "note " + i.ToString(CultureInfo.InvariantCulture), [(byte)i, (byte)(i >> 8), 7], random.Next(1_000)))
            .ToList();
        var (uuid, blob) = provider == DatabaseProvider.Sqlite ? ("TEXT", "BLOB") : ("uuid", "bytea");

        await using var connection = await bulk.OpenAsync(CancellationToken.None);
        await using (var create = connection.CreateCommand())
        {
            create.CommandText = $"CREATE TABLE bulk_rows_probe (k integer PRIMARY KEY, id {uuid} NOT NULL, note text NULL, data {blob} NOT NULL, amount bigint NOT NULL)";
            await create.ExecuteNonQueryAsync();
        }

        string Upsert(int rows) => $"""
            INSERT INTO bulk_rows_probe (k, id, note, data, amount) {bulk.RowsSql(rows, 5)}
            ON CONFLICT (k) DO UPDATE SET amount = bulk_rows_probe.amount + excluded.amount
            """;
        void Bind(Item item, object?[] v)
        {
            v[0] = item.Key;
            v[1] = bulk.Id(item.Id);
            v[2] = item.Note;
            v[3] = item.Data;
            v[4] = item.Amount;
        }

        var again = items.Where(_ => random.Next(3) == 0).ToList();
        await using (var transaction = await connection.BeginTransactionAsync())
        {
            (await bulk.ExecuteRowsAsync(connection, transaction, Upsert, 5, items, Bind, CancellationToken.None)).ShouldBe(items.Count);
            (await bulk.ExecuteRowsAsync(connection, transaction, Upsert, 5, again, Bind, CancellationToken.None)).ShouldBe(again.Count);
            await transaction.CommitAsync();
        }

        var expected = items.ToDictionary(i => i.Key, i => i with { Amount = i.Amount * (again.Contains(i) ? 2 : 1) });
        await using var read = connection.CreateCommand();
        read.CommandText = "SELECT k, id, note, data, amount FROM bulk_rows_probe";
        await using var reader = await read.ExecuteReaderAsync();
        var seen = 0;
        while (await reader.ReadAsync())
        {
            var want = expected[reader.GetInt32(0)];
            Guid.Parse(reader.GetValue(1).ToString()!).ShouldBe(want.Id);
            (reader.IsDBNull(2) ? null : reader.GetString(2)).ShouldBe(want.Note);
            ((byte[])reader.GetValue(3)).ShouldBe(want.Data);
            reader.GetInt64(4).ShouldBe(want.Amount);
            seen++;
        }

        seen.ShouldBe(items.Count);
    }

    [Fact]
    public async Task ExecuteRowsAsync_EveryKindOfValue_StoresWhatAPlainParameterizedCommandStores()
    {
        // SQLite's rows are bound by position through SQLite's own API; each value must be stored exactly as
        // Microsoft.Data.Sqlite's own parameters store it (storage class and text), empty strings and blobs not as NULL.
        var bulk = _host.GetService<BulkSql>();
        var random = new Random(20261206);
        string?[] texts = ["", "plain", "Größe 汉字 🎒", null, new string('x', 3_000), "line\nbreak 'quoted'"];
        var rows = Enumerable.Range(0, (bulk.RowsPerStatement(7) * 2) + 3).Select(i => new object?[]
        {
            i,
            random.NextInt64(),
            texts[i % texts.Length],
            i % 5 == 0 ? Array.Empty<byte>() : i % 7 == 0 ? null : [(byte)i, 0, 255],
            // Whole seconds (no fraction written) and ticks.
            new DateTime(2026, 3, 8, 7, 59, 59, DateTimeKind.Utc).AddTicks(i % 3 == 0 ? random.Next(0, 86_400) * TimeSpan.TicksPerSecond : random.NextInt64(0, TimeSpan.TicksPerDay * 400)),
            i % 4 == 0 ? null : random.Next(),
            bulk.Id(Guid.NewGuid()),
        }).ToList();
        var (uuid, blob, time) = provider == DatabaseProvider.Sqlite ? ("TEXT", "BLOB", "TEXT") : ("uuid", "bytea", "timestamptz");
        await using var connection = await bulk.OpenAsync(CancellationToken.None);
        foreach (var table in new[] { "bulk_values_rows", "bulk_values_plain" })
        {
            await using var create = connection.CreateCommand();
            create.CommandText = $"CREATE TABLE {table} (k integer PRIMARY KEY, big bigint NOT NULL, note text NULL, data {blob} NULL, at {time} NOT NULL, n integer NULL, id {uuid} NOT NULL)";
            await create.ExecuteNonQueryAsync();
        }

        await using (var transaction = await connection.BeginTransactionAsync())
        {
            (await bulk.ExecuteRowsAsync(connection, transaction, n => $"INSERT INTO bulk_values_rows (k, big, note, data, at, n, id) {bulk.RowsSql(n, 7)}", 7, rows,
                (row, v) => row.CopyTo(v, 0), CancellationToken.None)).ShouldBe(rows.Count);
            await using var plain = connection.CreateCommand();
            plain.Transaction = transaction;
            plain.CommandText = "INSERT INTO bulk_values_plain (k, big, note, data, at, n, id) VALUES (@a, @b, @c, @d, @e, @f, @g)";
            foreach (var row in rows)
            {
                plain.Parameters.Clear();
                for (var c = 0; c < row.Length; c++)
                {
                    var parameter = plain.CreateParameter();
                    parameter.ParameterName = "@" + (char)('a' + c);
                    parameter.Value = row[c] ?? DBNull.Value;
                    plain.Parameters.Add(parameter);
                }

                await plain.ExecuteNonQueryAsync();
            }

            await transaction.CommitAsync();
        }

        async Task<List<string>> ReadAsync(string table)
        {
            await using var read = connection.CreateCommand();
            read.CommandText = provider == DatabaseProvider.Sqlite
                ? $"SELECT k, typeof(big) || quote(big), typeof(note) || quote(note), typeof(data) || quote(data), typeof(at) || quote(at), typeof(n) || quote(n), typeof(id) || quote(id) FROM {table} ORDER BY k"
                : $"SELECT k, big::text, quote_nullable(note), quote_nullable(encode(data, 'hex')), at::text, quote_nullable(n), id::text FROM {table} ORDER BY k";
            await using var reader = await read.ExecuteReaderAsync();
            var stored = new List<string>();
            while (await reader.ReadAsync())
            {
                stored.Add(string.Join(" | ", Enumerable.Range(0, 7).Select(c => reader.IsDBNull(c) ? "(null)" : Convert.ToString(reader.GetValue(c), CultureInfo.InvariantCulture))));
            }

            return stored;
        }

        var expected = await ReadAsync("bulk_values_plain");
        expected.Count.ShouldBe(rows.Count);
        expected.ShouldContain(r => r.Contains("text''", StringComparison.Ordinal) || r.Contains("| ''", StringComparison.Ordinal), "an empty string was stored as one");
        (await ReadAsync("bulk_values_rows")).ShouldBe(expected);
    }
}

public sealed class BulkSqlSqliteTests() : BulkSqlTests(DatabaseProvider.Sqlite);

public sealed class BulkSqlPostgresTests() : BulkSqlTests(DatabaseProvider.Postgres);
