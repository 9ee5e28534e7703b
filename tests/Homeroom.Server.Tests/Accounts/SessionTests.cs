using System.Net;
using System.Net.Http.Json;
using System.Security.Claims;
using System.Text.Json;
using Homeroom.Server.Accounts;
using Homeroom.Server.Data;
using Homeroom.Server.Tests.Infrastructure;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.Components.Authorization;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Homeroom.Server.Tests.Accounts;

/// <summary>Sessions live on the server: they end at sign-out and whenever the account's rights change, and survive a restart.</summary>
public abstract class SessionTests(DatabaseProvider provider) : IAsyncLifetime
{
    private HomeroomHost _host = null!;

    public async Task InitializeAsync() => _host = await HomeroomHost.StartAsync(provider);

    public async Task DisposeAsync() => await _host.DisposeAsync();

    private async Task<Guid> CreateAccountAsync(string username, string role = "districtAdmin", Guid? schoolId = null) =>
        (await _host.PostJsonAsync<JsonElement>("/api/accounts", new { username, displayName = username, password = StaffClients.Password, role, schoolId }))
            .GetProperty("id").GetGuid();

    private async Task UpdateAccountAsync(Guid id, object change)
    {
        using var response = await _host.Client.PutAsJsonAsync(new Uri($"/api/accounts/{id}", UriKind.Relative), change, HomeroomHost.Json).WaitAsync(HomeroomHost.Timeout);
        response.StatusCode.ShouldBe(HttpStatusCode.OK);
    }

    private async Task<T> WithDbAsync<T>(Func<HomeroomDbContext, Task<T>> query)
    {
        await using var db = await _host.GetService<IDbContextFactory<HomeroomDbContext>>().CreateDbContextAsync();
        return await query(db);
    }

    /// <summary>The session id inside a session cookie, read with the server's own keys.</summary>
    private string SessionIdIn(string cookie)
    {
        var options = _host.GetService<IOptionsMonitor<CookieAuthenticationOptions>>().Get(CookieAuthenticationDefaults.AuthenticationScheme);
        var ticket = options.TicketDataFormat.Unprotect(cookie).ShouldNotBeNull();
        return ticket.Principal.FindFirstValue(StaffUser.SessionClaim).ShouldNotBeNull();
    }

    [Fact]
    public async Task SignOut_RevokesTheSession_SoACopyOfTheCookieStopsWorking()
    {
        using var browser = StaffClients.Browser(_host);
        var cookie = await browser.SignInAsync("admin", HomeroomHost.AdminPassword);
        using var copy = StaffClients.WithCookie(_host, cookie);
        (await copy.StatusAsync("/api/auth/me")).ShouldBe(HttpStatusCode.OK);

        (await browser.PostAsync(new Uri("/api/auth/logout", UriKind.Relative), null)).StatusCode.ShouldBe(HttpStatusCode.NoContent);

        (await copy.StatusAsync("/api/auth/me")).ShouldBe(HttpStatusCode.Unauthorized);
        using var page = await copy.GetAsync(new Uri("/devices", UriKind.Relative));
        page.StatusCode.ShouldBe(HttpStatusCode.Redirect);
        page.Headers.Location!.ToString().ShouldContain("/login");
        StaffClients.SetCookie(page).ShouldBeNull(); // the rejected cookie is cleared, not renewed
    }

    [Fact]
    public async Task DisablingTheAccount_EndsItsSessions_AtOnce()
    {
        var id = await CreateAccountAsync("sam.admin");
        using var browser = StaffClients.Browser(_host);
        await browser.SignInAsync("sam.admin", StaffClients.Password);
        (await browser.StatusAsync("/api/devices")).ShouldBe(HttpStatusCode.OK);

        await UpdateAccountAsync(id, new { disabled = true });

        (await browser.StatusAsync("/api/devices")).ShouldBe(HttpStatusCode.Unauthorized);
        await UpdateAccountAsync(id, new { disabled = false });
        (await browser.StatusAsync("/api/devices")).ShouldBe(HttpStatusCode.Unauthorized); // enabling again does not bring old sessions back
    }

    [Theory]
    [InlineData("role")]
    [InlineData("school")]
    public async Task ChangingTheAccountsRights_EndsItsSessions(string change)
    {
        var school = (await _host.PostJsonAsync<JsonElement>("/api/schools", new { name = "Lincoln Middle" })).GetProperty("id").GetGuid();
        var id = await CreateAccountAsync("pat.admin", "schoolAdmin");
        using var browser = StaffClients.Browser(_host);
        await browser.SignInAsync("pat.admin", StaffClients.Password);
        (await browser.StatusAsync("/api/devices")).ShouldBe(HttpStatusCode.OK);

        await UpdateAccountAsync(id, change == "role" ? new { role = "readOnly" } : new { schoolId = school });

        (await browser.StatusAsync("/api/devices")).ShouldBe(HttpStatusCode.Unauthorized);
        await browser.SignInAsync("pat.admin", StaffClients.Password);
        (await browser.StatusAsync("/api/devices")).ShouldBe(HttpStatusCode.OK); // signed in again, with the new rights
    }

    [Fact]
    public async Task UpdatingNothingThatMatters_KeepsTheSessions()
    {
        var id = await CreateAccountAsync("kim.admin");
        using var browser = StaffClients.Browser(_host);
        await browser.SignInAsync("kim.admin", StaffClients.Password);

        await UpdateAccountAsync(id, new { role = "districtAdmin", disabled = false });

        (await browser.StatusAsync("/api/devices")).ShouldBe(HttpStatusCode.OK);
    }

    [Fact]
    public async Task PasswordChange_EndsTheOtherSessions_ButNotTheOneItWasMadeIn()
    {
        await CreateAccountAsync("lee.admin");
        using var here = StaffClients.Browser(_host);
        using var elsewhere = StaffClients.Browser(_host);
        await here.SignInAsync("lee.admin", StaffClients.Password);
        await elsewhere.SignInAsync("lee.admin", StaffClients.Password);

        using var change = await here.PostAsJsonAsync(new Uri("/api/auth/password", UriKind.Relative), new { currentPassword = StaffClients.Password, newPassword = "a brand new passphrase" });
        change.StatusCode.ShouldBe(HttpStatusCode.NoContent);

        (await here.StatusAsync("/api/auth/me")).ShouldBe(HttpStatusCode.OK);
        (await elsewhere.StatusAsync("/api/auth/me")).ShouldBe(HttpStatusCode.Unauthorized);
    }

    [Fact]
    public async Task Sessions_SurviveARestart_AndARevokedOneStaysRevoked()
    {
        using var kept = StaffClients.Browser(_host);
        using var ended = StaffClients.Browser(_host);
        var keptCookie = await kept.SignInAsync("admin", HomeroomHost.AdminPassword);
        var endedCookie = await ended.SignInAsync("admin", HomeroomHost.AdminPassword);
        (await ended.PostAsync(new Uri("/api/auth/logout", UriKind.Relative), null)).StatusCode.ShouldBe(HttpStatusCode.NoContent);

        await _host.RestartAsync();

        using var keptAfter = StaffClients.WithCookie(_host, keptCookie);
        using var endedAfter = StaffClients.WithCookie(_host, endedCookie);
        (await keptAfter.StatusAsync("/api/auth/me")).ShouldBe(HttpStatusCode.OK);
        (await endedAfter.StatusAsync("/api/auth/me")).ShouldBe(HttpStatusCode.Unauthorized);
    }

    [Fact]
    public async Task Session_IsStoredOnlyAsAHash_WithWhereItCameFrom()
    {
        using var browser = StaffClients.Browser(_host);
        browser.DefaultRequestHeaders.UserAgent.ParseAdd("HomeroomTest/1.0");
        var sessionId = SessionIdIn(await browser.SignInAsync("admin", HomeroomHost.AdminPassword));

        var stored = await WithDbAsync(db => db.Set<StaffSession>().SingleAsync());

        stored.TokenHash.ShouldBe(Secrets.Hash(sessionId));
        stored.TokenHash.ShouldNotContain(sessionId);
        stored.RemoteAddress.ShouldBe("127.0.0.1");
        stored.UserAgent.ShouldBe("HomeroomTest/1.0");
        stored.RevokedAt.ShouldBeNull();
        stored.SecurityStamp.ShouldBe(await WithDbAsync(db => db.StaffAccounts.Where(a => a.Username == "admin").Select(a => a.SecurityStamp).SingleAsync()));
    }

    [Fact]
    public async Task LastSeen_IsWrittenAtMostOnceAMinute_AndMovesTheIdleExpiry()
    {
        using var browser = StaffClients.Browser(_host);
        await browser.SignInAsync("admin", HomeroomHost.AdminPassword);
        var created = await WithDbAsync(db => db.Set<StaffSession>().AsNoTracking().SingleAsync());
        for (var i = 0; i < 5; i++)
        {
            (await browser.StatusAsync("/api/auth/me")).ShouldBe(HttpStatusCode.OK);
        }

        (await WithDbAsync(db => db.Set<StaffSession>().AsNoTracking().SingleAsync())).LastSeenAt.ShouldBe(created.LastSeenAt);

        _host.Clock.Advance(TimeSpan.FromHours(7));
        (await browser.StatusAsync("/api/auth/me")).ShouldBe(HttpStatusCode.OK);
        var seen = await WithDbAsync(db => db.Set<StaffSession>().AsNoTracking().SingleAsync());
        seen.LastSeenAt.ShouldBeGreaterThan(created.LastSeenAt + TimeSpan.FromHours(6));
        seen.ExpiresAt.ShouldBeGreaterThan(created.ExpiresAt + TimeSpan.FromHours(6));

        // Seven more hours: past the first expiry, but the session was used in between.
        _host.Clock.Advance(TimeSpan.FromHours(7));
        (await browser.StatusAsync("/api/auth/me")).ShouldBe(HttpStatusCode.OK);
        _host.Clock.Advance(TimeSpan.FromHours(9));
        (await browser.StatusAsync("/api/auth/me")).ShouldBe(HttpStatusCode.Unauthorized); // idle longer than eight hours
    }

    [Fact]
    public async Task EndedSessions_AreDeletedAfterTheRetention_ActiveOnesStay()
    {
        using var idle = StaffClients.Browser(_host);
        using var ended = StaffClients.Browser(_host);
        await idle.SignInAsync("admin", HomeroomHost.AdminPassword);
        await ended.SignInAsync("admin", HomeroomHost.AdminPassword);
        (await ended.PostAsync(new Uri("/api/auth/logout", UriKind.Relative), null)).StatusCode.ShouldBe(HttpStatusCode.NoContent);
        var retention = _host.Services.GetServices<Microsoft.Extensions.Hosting.IHostedService>().OfType<SessionRetention>().Single();

        _host.Clock.Advance(TimeSpan.FromDays(29));
        (await retention.PurgeAsync(CancellationToken.None)).ShouldBe(0); // ended (and expired) less than 30 days ago
        _host.Clock.Advance(TimeSpan.FromDays(2));
        using var active = StaffClients.Browser(_host);
        await active.SignInAsync("admin", HomeroomHost.AdminPassword);

        (await retention.PurgeAsync(CancellationToken.None)).ShouldBe(2); // the signed-out one and the one that expired unused
        (await WithDbAsync(db => db.Set<StaffSession>().CountAsync())).ShouldBe(1);
        (await active.StatusAsync("/api/auth/me")).ShouldBe(HttpStatusCode.OK);
    }

    [Fact]
    public async Task ListAndEndSessions_EndsTheOthers_AndKeepsThisOne()
    {
        await CreateAccountAsync("ana.admin");
        using var here = StaffClients.Browser(_host);
        using var laptop = StaffClients.Browser(_host);
        using var phone = StaffClients.Browser(_host);
        await here.SignInAsync("ana.admin", StaffClients.Password);
        await laptop.SignInAsync("ana.admin", StaffClients.Password);
        await phone.SignInAsync("ana.admin", StaffClients.Password);
        using var someoneElse = StaffClients.Browser(_host);
        await someoneElse.SignInAsync("admin", HomeroomHost.AdminPassword); // not listed

        var sessions = await here.GetFromJsonAsync<List<StaffSessionDto>>(new Uri("/api/auth/sessions", UriKind.Relative), HomeroomHost.Json);
        sessions!.Count.ShouldBe(3);
        sessions.Count(s => s.Current).ShouldBe(1);

        var laptopSession = (await laptop.GetFromJsonAsync<List<StaffSessionDto>>(new Uri("/api/auth/sessions", UriKind.Relative), HomeroomHost.Json))!.Single(s => s.Current).Id;
        (await here.DeleteAsync(new Uri($"/api/auth/sessions/{laptopSession}", UriKind.Relative))).StatusCode.ShouldBe(HttpStatusCode.NoContent);
        (await laptop.StatusAsync("/api/auth/me")).ShouldBe(HttpStatusCode.Unauthorized);
        (await phone.StatusAsync("/api/auth/me")).ShouldBe(HttpStatusCode.OK);

        (await here.DeleteAsync(new Uri("/api/auth/sessions", UriKind.Relative))).StatusCode.ShouldBe(HttpStatusCode.NoContent);
        (await phone.StatusAsync("/api/auth/me")).ShouldBe(HttpStatusCode.Unauthorized);
        (await here.StatusAsync("/api/auth/me")).ShouldBe(HttpStatusCode.OK);
        (await here.GetFromJsonAsync<List<StaffSessionDto>>(new Uri("/api/auth/sessions", UriKind.Relative), HomeroomHost.Json))!.ShouldHaveSingleItem().Current.ShouldBeTrue();
        (await _host.GetJsonAsync<JsonElement>("/api/audit?action=auth.session-end")).GetProperty("total").GetInt32().ShouldBe(2);
    }

    [Fact]
    public async Task AnotherAccountsSession_CannotBeEnded()
    {
        using var admin = StaffClients.Browser(_host);
        await admin.SignInAsync("admin", HomeroomHost.AdminPassword);
        var adminSession = (await admin.GetFromJsonAsync<List<StaffSessionDto>>(new Uri("/api/auth/sessions", UriKind.Relative), HomeroomHost.Json))!.Single().Id;
        await CreateAccountAsync("mallory", "readOnly");
        using var other = StaffClients.Browser(_host);
        await other.SignInAsync("mallory", StaffClients.Password);

        (await other.DeleteAsync(new Uri($"/api/auth/sessions/{adminSession}", UriKind.Relative))).StatusCode.ShouldBe(HttpStatusCode.NotFound);

        (await admin.StatusAsync("/api/auth/me")).ShouldBe(HttpStatusCode.OK);
    }

    [Fact]
    public async Task ApiKey_OfADisabledAccount_StopsWorking_AndARoleChangeAppliesAtOnce()
    {
        var id = await CreateAccountAsync("script.runner", "readOnly");
        using var browser = StaffClients.Browser(_host);
        await browser.SignInAsync("script.runner", StaffClients.Password);
        using var created = await browser.PostAsJsonAsync(new Uri("/api/api-keys", UriKind.Relative), new { name = "nightly export" });
        created.StatusCode.ShouldBe(HttpStatusCode.Created);
        using var script = _host.CreateClient((await created.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("key").GetString());
        (await script.StatusAsync("/api/devices")).ShouldBe(HttpStatusCode.OK);

        await UpdateAccountAsync(id, new { role = "teacher" });
        (await script.StatusAsync("/api/devices")).ShouldBe(HttpStatusCode.Forbidden);

        await UpdateAccountAsync(id, new { role = "readOnly", disabled = true });
        (await script.StatusAsync("/api/devices")).ShouldBe(HttpStatusCode.Unauthorized);
    }

    [Fact]
    public async Task ConsoleConnection_IsSignedOut_WhenItsSessionEndsOnAnotherServer()
    {
        await _host.DisposeAsync();
        _host = await HomeroomHost.StartAsync(provider, "Homeroom:Accounts:ConsoleRevalidationInterval=00:00:01");
        using var browser = StaffClients.Browser(_host);
        await using var connection = ConsoleConnection(PrincipalIn(await browser.SignInAsync("admin", HomeroomHost.AdminPassword)));
        var signedOut = SignedOutAsync(connection.Provider);

        // Another server on the same database ends the session: no notification reaches this one, the interval does.
        var now = _host.Clock.GetUtcNow().UtcDateTime;
        await WithDbAsync(db => db.Set<StaffSession>().ExecuteUpdateAsync(u => u.SetProperty(s => s.RevokedAt, now)));

        await signedOut.WaitAsync(TimeSpan.FromSeconds(10));
    }

    [Fact]
    public async Task ConsoleConnection_IsSignedOut_AtOnce_WhenThisServerDisablesTheAccount()
    {
        await _host.DisposeAsync();
        _host = await HomeroomHost.StartAsync(provider, "Homeroom:Accounts:ConsoleRevalidationInterval=00:10:00");
        var id = await CreateAccountAsync("jo.admin");
        using var jo = StaffClients.Browser(_host);
        using var admin = StaffClients.Browser(_host);
        await using var connection = ConsoleConnection(PrincipalIn(await jo.SignInAsync("jo.admin", StaffClients.Password)));
        await using var bystander = ConsoleConnection(PrincipalIn(await admin.SignInAsync("admin", HomeroomHost.AdminPassword)));
        var signedOut = SignedOutAsync(connection.Provider);

        await UpdateAccountAsync(id, new { disabled = true });

        await signedOut.WaitAsync(TimeSpan.FromSeconds(10)); // far sooner than the ten-minute interval
        (await bystander.Provider.GetAuthenticationStateAsync()).User.Identity!.IsAuthenticated.ShouldBeTrue();
    }

    [Fact]
    public async Task Migration_GivesEveryExistingAccountItsOwnStamp_AndDropsTheLockoutColumns()
    {
        await using var database = await TestDatabase.CreateAsync(provider);
        var runner = new MigrationRunner(database.Options, TimeProvider.System, Microsoft.Extensions.Logging.Abstractions.NullLogger<MigrationRunner>.Instance);
        await runner.MigrateAsync(targetVersion: 9);
        await using (var connection = DatabaseSetup.CreateConnection(database.Options))
        {
            await connection.OpenAsync();
            foreach (var name in new[] { "first", "second" })
            {
                await using var insert = connection.CreateCommand();
                var id = provider == DatabaseProvider.Sqlite ? $"'{Guid.NewGuid()}'" : $"'{Guid.NewGuid()}'::uuid";
                var now = provider == DatabaseProvider.Sqlite ? "'2026-01-01 00:00:00'" : "now()";
                insert.CommandText = $"INSERT INTO staff_accounts (id, username, display_name, password_hash, created_at, failed_sign_ins) VALUES ({id}, '{name}', '{name}', 'x', {now}, 4)";
                await insert.ExecuteNonQueryAsync();
            }
        }

        await runner.MigrateAsync();

        var builder = new DbContextOptionsBuilder<HomeroomDbContext>();
        _ = provider == DatabaseProvider.Sqlite ? builder.UseSqlite(database.Options.SqliteConnectionString) : builder.UseNpgsql(database.PostgresConnectionString);
        await using var db = new HomeroomDbContext(builder.Options);
        var stamps = await db.StaffAccounts.Select(a => a.SecurityStamp).ToListAsync();
        stamps.Count.ShouldBe(2);
        stamps.ShouldAllBe(stamp => stamp.Length == 32);
        stamps.Distinct().Count().ShouldBe(2);
        (await db.Set<StaffSession>().ToListAsync()).ShouldBeEmpty();
        await Should.ThrowAsync<Exception>(() => db.Database.ExecuteSqlRawAsync("UPDATE staff_accounts SET failed_sign_ins = 0"));
    }

    private ClaimsPrincipal PrincipalIn(string cookie)
    {
        var options = _host.GetService<IOptionsMonitor<CookieAuthenticationOptions>>().Get(CookieAuthenticationDefaults.AuthenticationScheme);
        return options.TicketDataFormat.Unprotect(cookie).ShouldNotBeNull().Principal;
    }

    private sealed class Connection(AsyncServiceScope scope, AuthenticationStateProvider provider) : IAsyncDisposable
    {
        public AuthenticationStateProvider Provider => provider;

        public ValueTask DisposeAsync() => scope.DisposeAsync();
    }

    /// <summary>What a console connection's scope holds: its authentication state, set from the signed-in principal as Blazor does.</summary>
    private Connection ConsoleConnection(ClaimsPrincipal principal)
    {
        var scope = _host.Services.CreateAsyncScope();
        var provider = scope.ServiceProvider.GetRequiredService<AuthenticationStateProvider>();
        provider.ShouldBeOfType<Homeroom.Server.WebConsole.ConsoleAuthenticationStateProvider>();
        ((IHostEnvironmentAuthenticationStateProvider)provider).SetAuthenticationState(Task.FromResult(new AuthenticationState(principal)));
        return new Connection(scope, provider);
    }

    private static Task SignedOutAsync(AuthenticationStateProvider provider)
    {
        var signedOut = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        provider.AuthenticationStateChanged += state => _ = CompleteWhenSignedOutAsync(state, signedOut);
        return signedOut.Task;
    }

    private static async Task CompleteWhenSignedOutAsync(Task<AuthenticationState> state, TaskCompletionSource signedOut)
    {
        if ((await state).User.Identity?.IsAuthenticated != true)
        {
            signedOut.TrySetResult();
        }
    }
}

public sealed class SessionSqliteTests() : SessionTests(DatabaseProvider.Sqlite);

public sealed class SessionPostgresTests() : SessionTests(DatabaseProvider.Postgres);
