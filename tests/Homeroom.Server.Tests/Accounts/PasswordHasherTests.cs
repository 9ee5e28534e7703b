using System.Net;
using Homeroom.Server.Accounts;
using Homeroom.Server.Data;
using Homeroom.Server.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;

namespace Homeroom.Server.Tests.Accounts;

/// <summary>
/// The password hash cost is a setting (the test hosts lower it); production keeps 210,000 PBKDF2
/// iterations, and every stored hash carries its own count so hashes of either cost verify.
/// </summary>
public sealed class PasswordHasherTests
{
    [Fact]
    public void DefaultCost_StaysAt210000Iterations()
    {
        PasswordHasher.DefaultIterations.ShouldBe(210_000);
        new AccountOptions().PasswordHashIterations.ShouldBe(210_000);
        PasswordHasher.Hash("a long enough passphrase").Split('$')[1].ShouldBe("210000");
    }

    [Fact]
    public void ServerSettingsFile_LeavesTheDefaultCost()
    {
        var configuration = new ConfigurationBuilder().AddJsonFile(Path.Combine(AppContext.BaseDirectory, "appsettings.json")).Build();
        var options = new AccountOptions();
        configuration.GetSection(AccountOptions.Section).Bind(options);
        options.PasswordHashIterations.ShouldBe(210_000);
    }

    [Theory]
    [InlineData(1_000)]
    [InlineData(210_000)]
    public void Hash_CarriesItsCount_AndVerifiesOnlyThePassword(int iterations)
    {
        var stored = PasswordHasher.Hash("a long enough passphrase", iterations);
        stored.Split('$')[1].ShouldBe(iterations.ToString(System.Globalization.CultureInfo.InvariantCulture));
        PasswordHasher.Verify("a long enough passphrase", stored).ShouldBeTrue();
        PasswordHasher.Verify("a long enough passphrasE", stored).ShouldBeFalse();
    }

    [Fact]
    public async Task ConfiguredCost_HashesNewPasswords_AndAHashOfTheDefaultCostStillSignsIn()
    {
        await using var host = await HomeroomHost.StartAsync(DatabaseProvider.Sqlite);
        (await host.PostJsonAsync("/api/accounts", new { username = "lowcost", displayName = "Low cost", password = StaffClients.Password, role = "readOnly" })).EnsureSuccessStatusCode();
        (await host.PostJsonAsync("/api/accounts", new { username = "fullcost", displayName = "Full cost", password = StaffClients.Password, role = "readOnly" })).EnsureSuccessStatusCode();
        await using (var db = await host.GetService<IDbContextFactory<HomeroomDbContext>>().CreateDbContextAsync())
        {
            var accounts = await db.StaffAccounts.Where(a => a.Username == "admin" || a.Username == "lowcost").ToListAsync();
            accounts.Count.ShouldBe(2);
            accounts.ShouldAllBe(a => a.PasswordHash.StartsWith($"pbkdf2-sha256${HomeroomHost.TestPasswordHashIterations}$", StringComparison.Ordinal));

            // As if hashed before the setting was lowered.
            var full = await db.StaffAccounts.SingleAsync(a => a.Username == "fullcost");
            full.PasswordHash = PasswordHasher.Hash(StaffClients.Password);
            await db.SaveChangesAsync();
        }

        foreach (var username in new[] { "lowcost", "fullcost" })
        {
            using var client = StaffClients.Browser(host, IPAddress.Loopback);
            (await client.LoginAsync(username, StaffClients.Password)).StatusCode.ShouldBe(HttpStatusCode.NoContent);
            (await client.LoginAsync(username, "not the password")).StatusCode.ShouldBe(HttpStatusCode.Unauthorized);
        }
    }

    [Fact]
    public async Task CostBelow1000_StopsTheServerAtStart()
    {
        var error = await Should.ThrowAsync<OptionsValidationException>(() => HomeroomHost.StartAsync(DatabaseProvider.Sqlite, "Homeroom:Accounts:PasswordHashIterations=999"));
        error.Message.ShouldContain(nameof(AccountOptions.PasswordHashIterations));
    }
}
