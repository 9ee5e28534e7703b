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
}

public sealed class BulkSqlSqliteTests() : BulkSqlTests(DatabaseProvider.Sqlite);

public sealed class BulkSqlPostgresTests() : BulkSqlTests(DatabaseProvider.Postgres);
