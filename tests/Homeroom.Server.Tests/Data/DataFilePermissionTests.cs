using System.Runtime.Versioning;
using Homeroom.Server.Data;
using Homeroom.Server.Tests.Infrastructure;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.Extensions.Logging.Abstractions;

namespace Homeroom.Server.Tests.Data;

/// <summary>The SQLite database, its journal, its backups and the data-protection keys are readable by the server's own user only.</summary>
[UnsupportedOSPlatform("windows")]
public sealed class DataFilePermissionTests : IAsyncLifetime
{
    private const UnixFileMode PrivateFile = UnixFileMode.UserRead | UnixFileMode.UserWrite;
    private const UnixFileMode PrivateDirectory = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;

    private TestDatabase _scratch = null!;

    public async Task InitializeAsync() => _scratch = await TestDatabase.CreateAsync(DatabaseProvider.Sqlite);

    public async Task DisposeAsync() => await _scratch.DisposeAsync();

    [Fact]
    public async Task FreshDataDirectory_DatabaseJournalBackupAndKeys_AreOwnerOnly()
    {
        var data = Path.Combine(_scratch.DataDirectory, "fresh", "data");
        // An older schema first, so starting the server migrates it and writes a backup.
        await new MigrationRunner(new DatabaseOptions { DataDirectory = data }, TimeProvider.System, NullLogger<MigrationRunner>.Instance).MigrateAsync(targetVersion: 1);

        await using var host = await HomeroomHost.StartAsync(DatabaseProvider.Sqlite, $"Homeroom:DataDirectory={data}");
        host.GetService<IDataProtectionProvider>().CreateProtector("test").Protect("a key is written on first use");

        File.GetUnixFileMode(data).ShouldBe(PrivateDirectory);
        var files = Directory.GetFiles(data).Select(Path.GetFileName).ToList();
        files.ShouldContain("homeroom.db");
        files.ShouldContain("homeroom.db-wal");
        files.ShouldContain("homeroom.db-shm");
        files.ShouldContain(f => f!.EndsWith(".bak", StringComparison.Ordinal));
        foreach (var file in Directory.GetFiles(data))
        {
            File.GetUnixFileMode(file).ShouldBe(PrivateFile, Path.GetFileName(file));
        }

        var keys = Path.Combine(data, "keys");
        File.GetUnixFileMode(keys).ShouldBe(PrivateDirectory);
        Directory.GetFiles(keys).ShouldNotBeEmpty();
        foreach (var file in Directory.GetFiles(keys))
        {
            File.GetUnixFileMode(file).ShouldBe(PrivateFile, Path.GetFileName(file));
        }
    }

    [Theory]
    [InlineData(DatabaseProvider.Sqlite)]
    [InlineData(DatabaseProvider.Postgres)]
    public async Task FirstStart_CreatesTheDataDirectoryOwnerOnly(DatabaseProvider provider)
    {
        var data = Path.Combine(_scratch.DataDirectory, "first-start", provider.ToString());

        await using var host = await HomeroomHost.StartAsync(provider, $"Homeroom:DataDirectory={data}");
        using var signedIn = await host.SignInAsNewAccountAsync("perm-" + provider.ToString().ToLowerInvariant(), "readOnly");

        File.GetUnixFileMode(data).ShouldBe(PrivateDirectory);
        File.GetUnixFileMode(Path.Combine(data, "keys")).ShouldBe(PrivateDirectory);
        var keys = Directory.GetFiles(Path.Combine(data, "keys"));
        keys.ShouldNotBeEmpty();
        keys.ShouldAllBe(f => File.GetUnixFileMode(f) == PrivateFile);
    }

    [Fact]
    public async Task ExistingWorldReadableFiles_AreMadeOwnerOnlyAtStart()
    {
        var data = Path.Combine(_scratch.DataDirectory, "old");
        await new MigrationRunner(new DatabaseOptions { DataDirectory = data }, TimeProvider.System, NullLogger<MigrationRunner>.Instance).MigrateAsync();
        File.SetUnixFileMode(Path.Combine(data, "homeroom.db"), PrivateFile | UnixFileMode.GroupRead | UnixFileMode.OtherRead);

        await using var host = await HomeroomHost.StartAsync(DatabaseProvider.Sqlite, $"Homeroom:DataDirectory={data}");

        // The directory may be the administrator's, with its own mode; the files in it are Homeroom's.
        File.GetUnixFileMode(Path.Combine(data, "homeroom.db")).ShouldBe(PrivateFile);
    }
}
