using System.Data.Common;
using System.Text;
using Homeroom.Server.Activity;
using Homeroom.Server.Data;
using Homeroom.Server.Tests.Infrastructure;

namespace Homeroom.Server.Tests.Activity;

/// <summary>
/// Raw events are indexed by when they arrived and, only for the few that arrived a day or more off, by when they
/// happened (migration 0060): no index over every event follows the time they happened, whose random order made every
/// insert touch most of its pages. The readers by time repeat the partial index's condition from
/// <see cref="ActivityTimeIndexes.OffTime"/>, and the planner uses the index for it only while that text and the
/// migration's agree.
/// </summary>
public abstract class ActivityTimeIndexesTests(DatabaseProvider provider) : IAsyncLifetime
{
    private TestDatabase _database = null!;

    public async Task InitializeAsync() => _database = await TestDatabase.CreateMigratedAsync(provider);

    public async Task DisposeAsync() => await _database.DisposeAsync();

    [Fact]
    public async Task ActivityEvents_NoIndexOfEveryEventFollowsItsTime_AndTheReadersByTimeUseAnIndex()
    {
        await using var connection = DatabaseSetup.CreateConnection(_database.Options);
        await connection.OpenAsync();

        var leading = await LeadingColumnsAsync(connection);
        leading.ShouldContain(("received_at", false), "the arrival index, which only grows");
        leading.ShouldContain(("occurred_at", true), "the partial index of events that arrived off time");
        leading.ShouldNotContain(("occurred_at", false), "an index of every event by its time takes inserts all over its pages");

        var offTime = ActivityTimeIndexes.OffTime(provider);
        (await PlanAsync(connection, $"SELECT id FROM activity_events WHERE {offTime} AND occurred_at < @at")).ShouldContain("ix_activity_events_off_time");
        (await PlanAsync(connection, "SELECT id FROM activity_events WHERE received_at < @at AND occurred_at < @at")).ShouldContain("ix_activity_events_received_at");
    }

    /// <summary>Each index on activity_events: its first column, and whether it is partial.</summary>
    private async Task<List<(string Column, bool Partial)>> LeadingColumnsAsync(DbConnection connection)
    {
        var found = new List<(string, bool)>();
        await using var command = connection.CreateCommand();
        command.CommandText = provider == DatabaseProvider.Sqlite
            ? "SELECT (SELECT name FROM pragma_index_info(l.name) WHERE seqno = 0), l.partial FROM pragma_index_list('activity_events') l"
            : """
              SELECT a.attname, i.indpred IS NOT NULL
              FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0]
              WHERE i.indrelid = 'activity_events'::regclass
              """;
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            found.Add((reader.GetString(0), Convert.ToBoolean(reader.GetValue(1), System.Globalization.CultureInfo.InvariantCulture)));
        }

        return found;
    }

    /// <summary>The query plan's text; on PostgreSQL with sequential scans ruled out, so an empty table still shows whether an index may serve.</summary>
    private async Task<string> PlanAsync(DbConnection connection, string sql)
    {
        await using var command = connection.CreateCommand();
        if (provider == DatabaseProvider.Postgres)
        {
            command.CommandText = "SET enable_seqscan = off";
            await command.ExecuteNonQueryAsync();
        }

        command.CommandText = (provider == DatabaseProvider.Sqlite ? "EXPLAIN QUERY PLAN " : "EXPLAIN ") + sql;
        var parameter = command.CreateParameter();
        parameter.ParameterName = "@at";
        parameter.Value = new DateTime(2026, 1, 1, 0, 0, 0, DateTimeKind.Utc);
        command.Parameters.Add(parameter);
        var plan = new StringBuilder();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            plan.AppendLine(reader.GetValue(reader.FieldCount - 1).ToString());
        }

        return plan.ToString();
    }
}

public sealed class ActivityTimeIndexesSqliteTests() : ActivityTimeIndexesTests(DatabaseProvider.Sqlite);

public sealed class ActivityTimeIndexesPostgresTests() : ActivityTimeIndexesTests(DatabaseProvider.Postgres);
