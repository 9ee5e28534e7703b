using System.Data.Common;
using System.Text.Json;
using Homeroom.Server.Data;
using Homeroom.Server.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Logging.Abstractions;

namespace Homeroom.Server.Tests.Data;

public abstract class MigrationRunnerTests(DatabaseProvider provider) : IAsyncLifetime
{
    private TestDatabase _database = null!;

    public async Task InitializeAsync() => _database = await TestDatabase.CreateAsync(provider);

    public async Task DisposeAsync() => await _database.DisposeAsync();

    private MigrationRunner Runner() => new(_database.Options, TimeProvider.System, NullLogger<MigrationRunner>.Instance);

    private HomeroomDbContext Context()
    {
        var builder = new DbContextOptionsBuilder<HomeroomDbContext>();
        if (provider == DatabaseProvider.Sqlite)
        {
            builder.UseSqlite(_database.Options.SqliteConnectionString);
        }
        else
        {
            builder.UseNpgsql(_database.PostgresConnectionString);
        }

        return new HomeroomDbContext(builder.Options);
    }

    [Fact]
    public async Task MigrateAsync_EmptyDatabase_AppliesEveryVersionAndTheModelMatches()
    {
        var applied = await Runner().MigrateAsync();

        applied.ShouldBe(Enumerable.Range(1, MigrationRunner.Load(provider).Count));
        await using var db = Context();
        // Reading every entity set proves each mapped column exists with a readable type.
        (await db.Districts.ToListAsync()).ShouldBeEmpty();
        (await db.Schools.ToListAsync()).ShouldBeEmpty();
        (await db.Groups.ToListAsync()).ShouldBeEmpty();
        (await db.People.ToListAsync()).ShouldBeEmpty();
        (await db.GroupMembers.ToListAsync()).ShouldBeEmpty();
        (await db.GroupDevices.ToListAsync()).ShouldBeEmpty();
        (await db.Devices.ToListAsync()).ShouldBeEmpty();
        (await db.DeviceApps.ToListAsync()).ShouldBeEmpty();
        (await db.EnrollmentTokens.ToListAsync()).ShouldBeEmpty();
        (await db.StaffAccounts.ToListAsync()).ShouldBeEmpty();
        (await db.ApiKeys.ToListAsync()).ShouldBeEmpty();
        (await db.Commands.ToListAsync()).ShouldBeEmpty();
        (await db.CommandDeliveries.ToListAsync()).ShouldBeEmpty();
        (await db.ActivityEvents.ToListAsync()).ShouldBeEmpty();
        (await db.AuditLog.ToListAsync()).ShouldBeEmpty();
    }

    [Fact]
    public async Task MigrateAsync_Twice_SecondRunAppliesNothing()
    {
        await Runner().MigrateAsync();

        (await Runner().MigrateAsync()).ShouldBeEmpty();
        (await Runner().AppliedVersionsAsync()).Count.ShouldBe(MigrationRunner.Load(provider).Count);
    }

    [Fact]
    public async Task MigrateAsync_FromEachPreviousVersion_KeepsExistingData()
    {
        var latest = MigrationRunner.Load(provider).Count;
        await Runner().MigrateAsync(targetVersion: 1);
        await ExecuteAsync("INSERT INTO schools (id, name, code, time_zone, created_at) VALUES (@id, 'Kept School', 'KEEP', 'UTC', @now)",
            ("@id", provider == DatabaseProvider.Sqlite ? "0195A3B2-0000-7000-8000-000000000001" : Guid.Parse("0195a3b2-0000-7000-8000-000000000001")),
            ("@now", provider == DatabaseProvider.Sqlite ? "2026-01-01 00:00:00" : new DateTime(2026, 1, 1, 0, 0, 0, DateTimeKind.Utc)));

        for (var version = 2; version <= latest; version++)
        {
            (await Runner().MigrateAsync(targetVersion: version)).ShouldBe([version]);
        }

        await using var db = Context();
        var school = await db.Schools.SingleAsync();
        school.Name.ShouldBe("Kept School");
        school.Id.ShouldBe(Guid.Parse("0195a3b2-0000-7000-8000-000000000001"));
        school.CreatedAt.ShouldBe(new DateTime(2026, 1, 1, 0, 0, 0, DateTimeKind.Utc));
    }

    [Fact]
    public async Task MigrateAsync_RetiringAppsSettings_DropsOnlyTheAppsGroupOfStoredProfiles()
    {
        var retiring = MigrationRunner.Load(provider).Single(m => m.Name.Contains("retire_profile_apps_settings", StringComparison.Ordinal)).Version;
        await Runner().MigrateAsync(targetVersion: retiring - 1);
        var withApps = Guid.Parse("0195a3b2-0000-7000-8000-000000000002");
        var without = Guid.Parse("0195a3b2-0000-7000-8000-000000000003");
        foreach (var (id, name, settings) in new[]
        {
            (withApps, "Old apps", """{"apps":{"required":["ios:123456"],"blocked":["chrome:abcdefghijklmnopabcdefghijklmnop"]},"webFilter":{"blockedSites":["games.example"],"safeSearch":true}}"""),
            (without, "No apps", """{"device":{"lockMessage":"Back at 3"}}"""),
        })
        {
            await ExecuteAsync("INSERT INTO profiles (id, name, settings_json, created_at, updated_at) VALUES (@id, @name, @settings, @now, @now)",
                ("@id", provider == DatabaseProvider.Sqlite ? id.ToString().ToUpperInvariant() : id),
                ("@name", name),
                ("@settings", settings),
                ("@now", provider == DatabaseProvider.Sqlite ? "2026-01-01 00:00:00" : new DateTime(2026, 1, 1, 0, 0, 0, DateTimeKind.Utc)));
        }

        (await Runner().MigrateAsync(targetVersion: retiring)).ShouldBe([retiring]);

        await using var db = Context();
        var profiles = await db.Profiles.AsNoTracking().ToDictionaryAsync(p => p.Id);
        using (var kept = JsonDocument.Parse(profiles[withApps].SettingsJson))
        {
            kept.RootElement.TryGetProperty("apps", out _).ShouldBeFalse();
            kept.RootElement.GetProperty("webFilter").GetProperty("blockedSites")[0].GetString().ShouldBe("games.example");
            kept.RootElement.GetProperty("webFilter").GetProperty("safeSearch").GetBoolean().ShouldBeTrue();
        }

        using var untouched = JsonDocument.Parse(profiles[without].SettingsJson);
        untouched.RootElement.GetProperty("device").GetProperty("lockMessage").GetString().ShouldBe("Back at 3");
    }

    [Fact]
    public async Task MigrateAsync_AppliedScriptWasEdited_RefusesToStart()
    {
        await Runner().MigrateAsync();
        await ExecuteAsync("UPDATE schema_migrations SET checksum = 'tampered' WHERE version = 1");

        var error = await Should.ThrowAsync<InvalidOperationException>(() => Runner().MigrateAsync());
        error.Message.ShouldContain("changed after it was applied");
    }

    [Fact]
    public async Task MigrateAsync_DatabaseNewerThanThisBuild_RefusesToStart()
    {
        await Runner().MigrateAsync();
        await ExecuteAsync("INSERT INTO schema_migrations (version, name, checksum, applied_at) VALUES (999, 'future', 'x', 'now')");

        var error = await Should.ThrowAsync<InvalidOperationException>(() => Runner().MigrateAsync());
        error.Message.ShouldContain("newer than this Homeroom build");
    }

    private async Task ExecuteAsync(string sql, params (string Name, object Value)[] parameters)
    {
        await using DbConnection connection = DatabaseSetup.CreateConnection(_database.Options);
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        foreach (var (name, value) in parameters)
        {
            var parameter = command.CreateParameter();
            parameter.ParameterName = name;
            parameter.Value = value;
            command.Parameters.Add(parameter);
        }

        await command.ExecuteNonQueryAsync();
    }

    protected TestDatabase Database => _database;
}

public sealed class MigrationRunnerSqliteTests() : MigrationRunnerTests(DatabaseProvider.Sqlite)
{
    [Fact]
    public async Task MigrateAsync_SqliteWithPendingVersions_BacksUpTheFileFirst()
    {
        var runner = new MigrationRunner(Database.Options, TimeProvider.System, NullLogger<MigrationRunner>.Instance);
        await runner.MigrateAsync(targetVersion: 1);

        await runner.MigrateAsync();

        Directory.GetFiles(Database.DataDirectory, "homeroom.db.v1-*.bak").ShouldHaveSingleItem();
    }
}

public sealed class MigrationRunnerPostgresTests() : MigrationRunnerTests(DatabaseProvider.Postgres)
{
    [Fact]
    public async Task MigrateAsync_ThreeNodesOnAnEmptyDatabaseAtOnce_OneAppliesEverythingAndTheOthersNothing()
    {
        var runners = Enumerable.Range(0, 3).Select(_ => new MigrationRunner(Database.Options, TimeProvider.System, NullLogger<MigrationRunner>.Instance)).ToList();

        var results = await Task.WhenAll(runners.Select(r => Task.Run(() => r.MigrateAsync())));

        results.Count(r => r.Count > 0).ShouldBe(1);
        results.Single(r => r.Count > 0).ShouldBe(Enumerable.Range(1, MigrationRunner.Load(DatabaseProvider.Postgres).Count));
        (await runners[0].AppliedVersionsAsync()).Count.ShouldBe(MigrationRunner.Load(DatabaseProvider.Postgres).Count);
    }
}
