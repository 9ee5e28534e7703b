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

    // 0056: a Mac package already installed on a Mac that runs the desktop agent took the catalog's package as it was; an MDM
    // Mac's row, another platform's and one not installed get no hash (an install confirms one).
    [Fact]
    public async Task MigrateAsync_0056_InstalledAgentMacPackageRowsTakeTheCatalogsHash_OthersNone()
    {
        await Runner().MigrateAsync(targetVersion: 55);
        var sha = new string('a', 64);
        var (agentMac, failingMac, mdmMac, linux, app) = (Guid.NewGuid(), Guid.NewGuid(), Guid.NewGuid(), Guid.NewGuid(), Guid.NewGuid());
        var now = new DateTime(2026, 1, 1, 0, 0, 0, DateTimeKind.Utc);
        await using (var db = Context())
        {
            db.Devices.AddRange(
                new Homeroom.Server.Devices.Device { Id = agentMac, Name = "Agent Mac", Serial = "C02AGENT", Platform = Homeroom.Contracts.Enrollment.DevicePlatform.MacOS, CredentialHash = "x" },
                new Homeroom.Server.Devices.Device { Id = failingMac, Name = "Failing Mac", Serial = "C02FAIL", Platform = Homeroom.Contracts.Enrollment.DevicePlatform.MacOS, CredentialHash = "x" },
                new Homeroom.Server.Devices.Device { Id = mdmMac, Name = "MDM Mac", Serial = "C02MDM", Platform = Homeroom.Contracts.Enrollment.DevicePlatform.MacOS, CredentialHash = "x" },
                new Homeroom.Server.Devices.Device { Id = linux, Name = "Linux", Serial = "LNX1", Platform = Homeroom.Contracts.Enrollment.DevicePlatform.Linux, CredentialHash = "x" });
            db.Set<Homeroom.Server.Apps.CatalogApp>().Add(new Homeroom.Server.Apps.CatalogApp
            {
                Id = app, Name = "Atlas", Category = "reference", LinuxPackage = "atlas", MacPackageId = "org.example.atlas.pkg",
                MacPackageUrl = "https://apps.example.org/atlas.pkg", MacPackageSha256 = sha, CreatedAt = now, UpdatedAt = now,
            });
            await db.SaveChangesAsync();
            db.AppleDevices.Add(new Homeroom.Server.Apple.AppleDevice { DeviceId = mdmMac, Udid = "UDID-MDM", IdentityThumbprint = "T", EnrolledAt = now });
            await db.SaveChangesAsync(); // after its device: the model does not order the two
        }

        foreach (var (device, state) in new[] { (agentMac, "installed"), (failingMac, "failed"), (mdmMac, "installed"), (linux, "installed") })
        {
            await ExecuteAsync("INSERT INTO app_device_status (device_id, app_id, intent, state, updated_at) VALUES (@device, @app, 'required', @state, @now)",
                ("@device", Id(device)), ("@app", Id(app)), ("@state", state),
                ("@now", provider == DatabaseProvider.Sqlite ? "2026-01-01 00:00:00" : now));
        }

        (await Runner().MigrateAsync(targetVersion: 56)).ShouldBe([56]);

        await using var read = Context();
        var rows = await read.Set<Homeroom.Server.Apps.AppDeviceStatus>().ToDictionaryAsync(r => r.DeviceId);
        rows[agentMac].InstalledSha256.ShouldBe(sha);
        rows[agentMac].PackageSha256.ShouldBe(sha);
        rows[failingMac].InstalledSha256.ShouldBeNull();
        rows[mdmMac].InstalledSha256.ShouldBeNull();
        rows[linux].InstalledSha256.ShouldBeNull();
    }

    // A key as the provider stores it (EF keeps SQLite's GUIDs as upper-case text).
    private object Id(Guid id) => provider == DatabaseProvider.Sqlite ? id.ToString().ToUpperInvariant() : id;

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
