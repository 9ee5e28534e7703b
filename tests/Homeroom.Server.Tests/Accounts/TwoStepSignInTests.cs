using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Homeroom.Server.Accounts;
using Homeroom.Server.Data;
using Homeroom.Server.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;

namespace Homeroom.Server.Tests.Accounts;

/// <summary>
/// Two-step sign-in for local accounts through the API, against a real server: set up with the password,
/// turned on by a first code, then every sign-in needs a code that works once (or a recovery code, once);
/// wrong codes are throttled like wrong passwords; the secret is never stored in the clear; an
/// administrator can reset it; and where the district requires it, a district admin without it can only
/// set it up. Codes are computed by <see cref="TwoStepCodes"/> (RFC 6238 written out), at the host's clock.
/// </summary>
public sealed class TwoStepSignInTests : IAsyncLifetime
{
    private HomeroomHost _host = null!;

    public async Task InitializeAsync() => _host = await HomeroomHost.StartAsync(DatabaseProvider.Sqlite);

    public async Task DisposeAsync() => await _host.DisposeAsync();

    [Fact]
    public void ReferenceCodes_MatchTheRfc6238TestVectors()
    {
        // RFC 6238 appendix B, SHA-1, key "12345678901234567890", 8 digits.
        var key = "12345678901234567890"u8.ToArray();
        TwoStepCodes.ForStep(key, 59 / 30, 8).ShouldBe("94287082");
        TwoStepCodes.ForStep(key, 1111111109 / 30, 8).ShouldBe("07081804");
        TwoStepCodes.ForStep(key, 1234567890 / 30, 8).ShouldBe("89005924");
        TwoStepCodes.ForStep(key, 20000000000 / 30, 8).ShouldBe("65353130");
    }

    [Fact]
    public async Task SetUpAndTurnedOn_EverySignInNeedsACode_ThatWorksOnlyOnce()
    {
        using var alice = await _host.SignInAsNewAccountAsync("alice", "readOnly");
        (await Post(alice, "/api/auth/two-step/setup", new { currentPassword = "not the password" })).StatusCode.ShouldBe(HttpStatusCode.Forbidden);
        var secret = await SetUpAsync(alice);

        // The secret is kept encrypted, never as the key the app was given.
        await using (var db = await _host.GetService<IDbContextFactory<HomeroomDbContext>>().CreateDbContextAsync())
        {
            var stored = await db.StaffAccounts.Where(a => a.Username == "alice").Select(a => a.TotpSecret).SingleAsync();
            stored.ShouldNotBeNull();
            stored.ShouldNotContain(secret);
        }

        (await Post(alice, "/api/auth/two-step/confirm", new { code = "000000" == Code(secret) ? "111111" : "000000" })).StatusCode.ShouldBe(HttpStatusCode.Forbidden);
        var confirmCode = Code(secret);
        using (var confirmed = await Post(alice, "/api/auth/two-step/confirm", new { code = confirmCode }))
        {
            confirmed.StatusCode.ShouldBe(HttpStatusCode.OK);
            var codes = (await confirmed.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("codes");
            codes.GetArrayLength().ShouldBe(StaffTwoStep.RecoveryCodeCount);
        }

        var status = await alice.GetFromJsonAsync<JsonElement>("/api/auth/two-step");
        status.GetProperty("enabled").GetBoolean().ShouldBeTrue();
        status.GetProperty("recoveryCodesLeft").GetInt32().ShouldBe(StaffTwoStep.RecoveryCodeCount);

        // The password alone is not enough now, and says so; no session is begun.
        using var laptop = StaffClients.Browser(_host, IPAddress.Parse("127.0.0.4"));
        using (var passwordOnly = await laptop.LoginAsync("alice", StaffClients.Password))
        {
            passwordOnly.StatusCode.ShouldBe(HttpStatusCode.Unauthorized);
            (await passwordOnly.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("codeRequired").GetBoolean().ShouldBeTrue();
            StaffClients.SessionCookie(passwordOnly).ShouldBeNull();
        }

        // The code that turned it on was used: within the same 30 seconds it signs no one in.
        (await LoginAsync(laptop, "alice", StaffClients.Password, confirmCode)).StatusCode.ShouldBe(HttpStatusCode.Unauthorized);
        _host.Clock.Advance(TimeSpan.FromSeconds(30));
        var next = Code(secret);
        (await LoginAsync(laptop, "alice", "wrong password", next)).StatusCode.ShouldBe(HttpStatusCode.Unauthorized);
        _host.Clock.Advance(TimeSpan.FromSeconds(2)); // past the throttle's first wait (three failures so far); the code is still good
        using (var signedIn = await LoginAsync(laptop, "alice", StaffClients.Password, next))
        {
            signedIn.StatusCode.ShouldBe(HttpStatusCode.NoContent);
        }

        (await laptop.GetFromJsonAsync<JsonElement>("/api/auth/me")).GetProperty("authMethod").GetString().ShouldBe("password+code");

        // The same code again, from another client: refused (one code, one sign-in).
        using var phone = StaffClients.Browser(_host, IPAddress.Parse("127.0.0.5"));
        (await LoginAsync(phone, "alice", StaffClients.Password, next)).StatusCode.ShouldBe(HttpStatusCode.Unauthorized);

        (await AuditCountAsync("auth.two-step-on")).ShouldBe(1);
        (await AuditCountAsync("auth.sign-in-code-required")).ShouldBe(1);
    }

    [Fact]
    public async Task Codes_OneStepEitherSideAreAccepted_TwoStepsAwayAndOlderThanTheLastUsedAreNot()
    {
        using var fay = await _host.SignInAsNewAccountAsync("fay", "readOnly");
        var secret = await SetUpAsync(fay);
        (await Post(fay, "/api/auth/two-step/confirm", new { code = Code(secret) })).StatusCode.ShouldBe(HttpStatusCode.OK);

        // Four steps on, 5 s into a step, so the short waits below stay inside it.
        var seconds = _host.Clock.GetUtcNow().ToUnixTimeSeconds();
        _host.Clock.Advance(TimeSpan.FromSeconds(120 + (30 - (seconds % 30)) + 5));
        var key = TwoStepCodes.FromBase32(secret);
        var now = _host.Clock.GetUtcNow().ToUnixTimeSeconds() / 30;

        async Task<HttpStatusCode> TryAsync(long step, byte address)
        {
            using var client = StaffClients.Browser(_host, IPAddress.Parse($"127.0.1.{address}"));
            using var response = await LoginAsync(client, "fay", StaffClients.Password, TwoStepCodes.ForStep(key, step));
            _host.Clock.Advance(TimeSpan.FromSeconds(2)); // past the throttle's wait after a failure
            return response.StatusCode;
        }

        (await TryAsync(now - 2, 1)).ShouldBe(HttpStatusCode.Unauthorized); // a minute old: outside the window
        (await TryAsync(now + 2, 2)).ShouldBe(HttpStatusCode.Unauthorized); // a minute ahead: outside the window
        (await TryAsync(now - 1, 3)).ShouldBe(HttpStatusCode.NoContent);    // the step before: a slow typist
        (await TryAsync(now + 1, 4)).ShouldBe(HttpStatusCode.NoContent);    // the step after: a phone's clock a little ahead
        (await TryAsync(now, 5)).ShouldBe(HttpStatusCode.Unauthorized);     // inside the window, but older than the last code used
        (await TryAsync(now + 1, 6)).ShouldBe(HttpStatusCode.Unauthorized); // the same code again
    }

    [Fact]
    public async Task TurningItOn_EndsTheOtherSessions_ButNotTheOneItWasTurnedOnIn()
    {
        using var here = await _host.SignInAsNewAccountAsync("bob", "readOnly");
        using var elsewhere = StaffClients.Browser(_host, IPAddress.Parse("127.0.0.6"));
        await elsewhere.SignInAsync("bob", StaffClients.Password);
        (await elsewhere.StatusAsync("/api/auth/me")).ShouldBe(HttpStatusCode.OK);

        var secret = await SetUpAsync(here);
        (await Post(here, "/api/auth/two-step/confirm", new { code = Code(secret) })).StatusCode.ShouldBe(HttpStatusCode.OK);

        (await elsewhere.StatusAsync("/api/auth/me")).ShouldBe(HttpStatusCode.Unauthorized);
        (await here.StatusAsync("/api/auth/me")).ShouldBe(HttpStatusCode.OK);
    }

    [Fact]
    public async Task RecoveryCode_SignsInOnce_AndNewCodesReplaceTheOld()
    {
        using var carol = await _host.SignInAsNewAccountAsync("carol", "readOnly");
        var secret = await SetUpAsync(carol);
        using var confirmed = await Post(carol, "/api/auth/two-step/confirm", new { code = Code(secret) });
        var codes = (await confirmed.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("codes").EnumerateArray().Select(c => c.GetString()!).ToList();

        using var client = StaffClients.Browser(_host, IPAddress.Parse("127.0.0.7"));
        // Typed in capitals and without the dash, as people do.
        (await LoginAsync(client, "carol", StaffClients.Password, codes[0].Replace("-", "", StringComparison.Ordinal).ToUpperInvariant())).StatusCode.ShouldBe(HttpStatusCode.NoContent);
        using var again = StaffClients.Browser(_host, IPAddress.Parse("127.0.0.8"));
        (await LoginAsync(again, "carol", StaffClients.Password, codes[0])).StatusCode.ShouldBe(HttpStatusCode.Unauthorized);
        (await client.GetFromJsonAsync<JsonElement>("/api/auth/two-step")).GetProperty("recoveryCodesLeft").GetInt32().ShouldBe(StaffTwoStep.RecoveryCodeCount - 1);

        using var fresh = await Post(client, "/api/auth/two-step/recovery-codes", new { currentPassword = StaffClients.Password });
        fresh.StatusCode.ShouldBe(HttpStatusCode.OK);
        using var third = StaffClients.Browser(_host, IPAddress.Parse("127.0.0.9"));
        (await LoginAsync(third, "carol", StaffClients.Password, codes[1])).StatusCode.ShouldBe(HttpStatusCode.Unauthorized);
        (await AuditCountAsync("auth.recovery-code-used")).ShouldBe(1);
    }

    [Fact]
    public async Task WrongCodes_AreThrottledLikeWrongPasswords()
    {
        using var dave = await _host.SignInAsNewAccountAsync("dave", "readOnly");
        var secret = await SetUpAsync(dave);
        (await Post(dave, "/api/auth/two-step/confirm", new { code = Code(secret) })).StatusCode.ShouldBe(HttpStatusCode.OK);

        using var guesser = StaffClients.Browser(_host, IPAddress.Parse("127.0.0.10"));
        var wrong = Code(secret) == "123456" ? "654321" : "123456";
        for (var i = 0; i < 3; i++)
        {
            (await LoginAsync(guesser, "dave", StaffClients.Password, wrong)).StatusCode.ShouldBe(HttpStatusCode.Unauthorized);
        }

        // Now even the right code waits: it is not looked at.
        _host.Clock.Advance(TimeSpan.FromMilliseconds(100));
        using var refused = await LoginAsync(guesser, "dave", StaffClients.Password, Code(secret));
        refused.StatusCode.ShouldBe(HttpStatusCode.TooManyRequests);
        StaffClients.SessionCookie(refused).ShouldBeNull();
    }

    [Fact]
    public async Task TurningItOff_NeedsPasswordAndCode_AndAnAdministratorCanResetIt()
    {
        using var erin = await _host.SignInAsNewAccountAsync("erin", "readOnly");
        var secret = await SetUpAsync(erin);
        (await Post(erin, "/api/auth/two-step/confirm", new { code = Code(secret) })).StatusCode.ShouldBe(HttpStatusCode.OK);
        _host.Clock.Advance(TimeSpan.FromSeconds(30));
        (await Post(erin, "/api/auth/two-step/disable", new { currentPassword = StaffClients.Password, code = "12" })).StatusCode.ShouldBe(HttpStatusCode.Forbidden);
        (await Post(erin, "/api/auth/two-step/disable", new { currentPassword = "nope", code = Code(secret) })).StatusCode.ShouldBe(HttpStatusCode.Forbidden);
        (await Post(erin, "/api/auth/two-step/disable", new { currentPassword = StaffClients.Password, code = new string('1', 40) })).StatusCode.ShouldBe(HttpStatusCode.BadRequest);

        // Lost phone: the district admin resets it, her sessions end, and the password alone signs in again.
        var id = (await erin.GetFromJsonAsync<JsonElement>("/api/auth/me")).GetProperty("id").GetGuid();
        using (var reset = await _host.Client.DeleteAsync($"/api/accounts/{id}/two-step"))
        {
            reset.StatusCode.ShouldBe(HttpStatusCode.NoContent);
        }

        (await erin.StatusAsync("/api/auth/me")).ShouldBe(HttpStatusCode.Unauthorized);
        using var again = StaffClients.Browser(_host, IPAddress.Parse("127.0.0.11"));
        await again.SignInAsync("erin", StaffClients.Password);
        (await AuditCountAsync("auth.two-step-reset")).ShouldBe(1);

        (await _host.Client.DeleteAsync($"/api/accounts/{Guid.NewGuid()}/two-step")).StatusCode.ShouldBe(HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task RequiredForDistrictAdmins_OneWithoutItCanOnlySetItUp_ThenHasEverything()
    {
        await using var host = await HomeroomHost.StartAsync(DatabaseProvider.Sqlite, "Homeroom:Accounts:RequireTwoStepForDistrictAdmins=true");
        using var admin = await host.SignInAsNewAccountAsync("frank", "districtAdmin");
        (await admin.StatusAsync("/api/devices")).ShouldBe(HttpStatusCode.Forbidden);
        (await admin.StatusAsync("/api/accounts")).ShouldBe(HttpStatusCode.Forbidden);
        (await Post(admin, "/api/api-keys", new { name = "a way around" })).StatusCode.ShouldBe(HttpStatusCode.Forbidden);
        var status = await admin.GetFromJsonAsync<JsonElement>("/api/auth/two-step");
        status.GetProperty("required").GetBoolean().ShouldBeTrue();
        status.GetProperty("enabled").GetBoolean().ShouldBeFalse();

        // Other roles are not affected.
        using var reader = await host.SignInAsNewAccountAsync("grace", "readOnly");
        (await reader.StatusAsync("/api/devices")).ShouldBe(HttpStatusCode.OK);

        using var setup = await Post(admin, "/api/auth/two-step/setup", new { currentPassword = StaffClients.Password });
        var secret = (await setup.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("secret").GetString()!;
        (await Post(admin, "/api/auth/two-step/confirm", new { code = TwoStepCodes.At(secret, host.Clock.GetUtcNow()) })).StatusCode.ShouldBe(HttpStatusCode.OK);

        // The same session now has the whole role, read again on the next request.
        (await admin.StatusAsync("/api/devices")).ShouldBe(HttpStatusCode.OK);
        host.Clock.Advance(TimeSpan.FromSeconds(30));
        using var disable = await Post(admin, "/api/auth/two-step/disable", new { currentPassword = StaffClients.Password, code = TwoStepCodes.At(secret, host.Clock.GetUtcNow()) });
        disable.StatusCode.ShouldBe(HttpStatusCode.Conflict);
    }

    [Theory]
    [InlineData(DatabaseProvider.Sqlite)]
    [InlineData(DatabaseProvider.Postgres)]
    public async Task OneCodeSentFromManyClientsAtOnce_SignsInOnce(DatabaseProvider provider)
    {
        await using var host = provider == DatabaseProvider.Sqlite ? null : await HomeroomHost.StartAsync(provider);
        var server = host ?? _host;
        using var hank = await server.SignInAsNewAccountAsync("hank", "readOnly");
        using var setup = await Post(hank, "/api/auth/two-step/setup", new { currentPassword = StaffClients.Password });
        var secret = (await setup.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("secret").GetString()!;
        (await Post(hank, "/api/auth/two-step/confirm", new { code = TwoStepCodes.At(secret, server.Clock.GetUtcNow()) })).StatusCode.ShouldBe(HttpStatusCode.OK);
        server.Clock.Advance(TimeSpan.FromSeconds(30));
        var code = TwoStepCodes.At(secret, server.Clock.GetUtcNow());

        // Eight clients, each from its own address (so none is throttled), race with one code.
        var clients = Enumerable.Range(20, 8).Select(i => StaffClients.Browser(server, IPAddress.Parse($"127.0.0.{i}"))).ToList();
        var answers = await Task.WhenAll(clients.Select(c => LoginAsync(c, "hank", StaffClients.Password, code)));
        answers.Count(a => a.StatusCode == HttpStatusCode.NoContent).ShouldBe(1);
        answers.Count(a => a.StatusCode == HttpStatusCode.Unauthorized).ShouldBe(7);
        foreach (var item in answers.Cast<IDisposable>().Concat(clients))
        {
            item.Dispose();
        }
    }

    private string Code(string secret) => TwoStepCodes.At(secret, _host.Clock.GetUtcNow());

    private static async Task<string> SetUpAsync(HttpClient client)
    {
        using var setup = await Post(client, "/api/auth/two-step/setup", new { currentPassword = StaffClients.Password });
        setup.StatusCode.ShouldBe(HttpStatusCode.OK);
        var body = await setup.Content.ReadFromJsonAsync<JsonElement>();
        var secret = body.GetProperty("secret").GetString()!;
        body.GetProperty("otpAuthUri").GetString()!.ShouldStartWith("otpauth://totp/Homeroom%3A");
        body.GetProperty("otpAuthUri").GetString()!.ShouldContain("secret=" + secret);
        return secret;
    }

    private static Task<HttpResponseMessage> Post(HttpClient client, string path, object body) =>
        client.PostAsJsonAsync(new Uri(path, UriKind.Relative), body).WaitAsync(HomeroomHost.Timeout);

    private static Task<HttpResponseMessage> LoginAsync(HttpClient client, string username, string password, string code) =>
        client.PostAsJsonAsync(new Uri("/api/auth/login", UriKind.Relative), new { username, password, code }).WaitAsync(HomeroomHost.Timeout);

    private async Task<int> AuditCountAsync(string action) =>
        (await _host.GetJsonAsync<JsonElement>($"/api/audit?action={action}")).GetProperty("total").GetInt32();
}
