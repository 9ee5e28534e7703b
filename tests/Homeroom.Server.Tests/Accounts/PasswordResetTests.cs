using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Homeroom.Server.Data;
using Homeroom.Server.Tests.Infrastructure;

namespace Homeroom.Server.Tests.Accounts;

/// <summary>A district administrator resets a staff member's password: the new one works, the account's sessions end, a short one is refused.</summary>
public abstract class PasswordResetTests(DatabaseProvider provider) : IAsyncLifetime
{
    private const string NewPassword = "another long passphrase";
    private HomeroomHost _host = null!;

    public async Task InitializeAsync() => _host = await HomeroomHost.StartAsync(provider);

    public async Task DisposeAsync() => await _host.DisposeAsync();

    [Fact]
    public async Task UpdateAccount_WithAPassword_SetsIt_AndEndsTheAccountsSessions()
    {
        var id = (await _host.PostJsonAsync<JsonElement>("/api/accounts", new { username = "reset.me", displayName = "R", password = StaffClients.Password, role = "readOnly" })).GetProperty("id").GetGuid();
        using var browser = StaffClients.Browser(_host);
        await browser.SignInAsync("reset.me", StaffClients.Password);
        (await browser.StatusAsync("/api/devices")).ShouldBe(HttpStatusCode.OK);

        using (var tooShort = await _host.Client.PutAsJsonAsync(new Uri($"/api/accounts/{id}", UriKind.Relative), new { password = "short" }).WaitAsync(HomeroomHost.Timeout))
        {
            tooShort.StatusCode.ShouldBe(HttpStatusCode.BadRequest);
        }

        (await browser.StatusAsync("/api/devices")).ShouldBe(HttpStatusCode.OK, "a refused reset changes nothing");

        using (var reset = await _host.Client.PutAsJsonAsync(new Uri($"/api/accounts/{id}", UriKind.Relative), new { password = NewPassword }).WaitAsync(HomeroomHost.Timeout))
        {
            reset.StatusCode.ShouldBe(HttpStatusCode.OK);
        }

        (await browser.StatusAsync("/api/devices")).ShouldBe(HttpStatusCode.Unauthorized);
        using var again = StaffClients.Browser(_host);
        (await again.LoginAsync("reset.me", StaffClients.Password)).StatusCode.ShouldBe(HttpStatusCode.Unauthorized);
        await again.SignInAsync("reset.me", NewPassword);
        (await again.StatusAsync("/api/devices")).ShouldBe(HttpStatusCode.OK);
        var audit = await _host.GetJsonAsync<JsonElement>("/api/audit?action=account.password-reset");
        audit.GetProperty("total").GetInt32().ShouldBe(1);
        audit.GetProperty("items")[0].GetProperty("details").GetString()!.ShouldNotContain(NewPassword);
    }
}

public sealed class PasswordResetSqliteTests() : PasswordResetTests(DatabaseProvider.Sqlite);

public sealed class PasswordResetPostgresTests() : PasswordResetTests(DatabaseProvider.Postgres);
