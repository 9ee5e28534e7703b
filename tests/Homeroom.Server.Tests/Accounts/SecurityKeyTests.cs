using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.RegularExpressions;
using Homeroom.Server.Accounts;
using Homeroom.Server.Audit;
using Homeroom.Server.Data;
using Homeroom.Server.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace Homeroom.Server.Tests.Accounts;

/// <summary>
/// Security keys (WebAuthn) as the second sign-in step, against a real server and database: registered with the
/// password through <see cref="StaffSecurityKeys"/> (the account page's use case), answered by a key written from
/// the specification (<see cref="SoftwareSecurityKey"/>) through the console's sign-in endpoints over HTTP. Only
/// public values are stored; challenges work once, for their own session, for a few minutes; a counter that does not
/// go up is refused and audited; bad answers store nothing; wrong answers are throttled like wrong codes; a key
/// satisfies the district's requirement; an administrator's reset removes keys.
/// </summary>
public sealed class SecurityKeyTests
{
    private const string SessionA = "session-a", SessionB = "session-b";

    [Theory]
    [InlineData(DatabaseProvider.Sqlite)]
    [InlineData(DatabaseProvider.Postgres)]
    public async Task Registered_StoresOnlyPublicValues_ThenPasswordAndKeySignIn(DatabaseProvider provider)
    {
        await using var host = await HomeroomHost.StartAsync(provider);
        var keys = host.GetService<StaffSecurityKeys>();
        var alice = await NewAccountAsync(host, "alice", "readOnly");
        using var key = new SoftwareSecurityKey { Counter = 7 };

        (await keys.BeginRegistrationAsync(alice, SessionA, "not the password", Origin(host), default)).Outcome.ShouldBe(SecurityKeyOutcome.WrongPassword);
        var (outcome, codes) = await RegisterAsync(host, alice, key, "Blue key");
        outcome.ShouldBe(SecurityKeyOutcome.Done);
        codes!.Codes.Count.ShouldBe(StaffTwoStep.RecoveryCodeCount);

        await using (var db = await Db(host))
        {
            var stored = await db.Set<StaffSecurityKey>().SingleAsync(k => k.AccountId == alice);
            stored.CredentialId.ShouldBe(key.CredentialIdText);
            stored.PublicKey.ShouldBe(key.CosePublicKey());
            stored.SignCount.ShouldBe(7);
            stored.Aaguid.ShouldBe(key.Aaguid);
            stored.Name.ShouldBe("Blue key");
            stored.LastUsedAt.ShouldBeNull();
            (await db.Set<StaffSecurityKeyChallenge>().CountAsync(c => c.AccountId == alice)).ShouldBe(0);
        }

        (await keys.ListAsync(alice, default)).Single().Name.ShouldBe("Blue key");
        var status = await host.GetService<StaffTwoStep>().StatusAsync(alice, default);
        status!.SecurityKeys.ShouldBe(1);
        status.RecoveryCodesLeft.ShouldBe(StaffTwoStep.RecoveryCodeCount);

        // The password alone no longer signs in, through the API or the console.
        using var laptop = StaffClients.Browser(host, IPAddress.Parse("127.0.0.40"));
        using (var passwordOnly = await laptop.LoginAsync("alice", StaffClients.Password))
        {
            passwordOnly.StatusCode.ShouldBe(HttpStatusCode.Unauthorized);
            (await passwordOnly.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("codeRequired").GetBoolean().ShouldBeTrue();
        }

        var console = await ConsoleSignIn.PasswordAsync(laptop, "alice");
        var options = await console.KeyOptionsAsync();
        using (var signedIn = await console.AnswerAsync(key.Assert(options, Origin(host))))
        {
            signedIn.Headers.Location!.ToString().ShouldBe("/devices");
            StaffClients.SessionCookie(signedIn).ShouldNotBeNull();
        }

        (await laptop.GetFromJsonAsync<JsonElement>("/api/auth/me")).GetProperty("authMethod").GetString().ShouldBe("password+key");
        await using (var db = await Db(host))
        {
            var used = await db.Set<StaffSecurityKey>().SingleAsync(k => k.AccountId == alice);
            used.SignCount.ShouldBe(8);
            (used.LastUsedAt!.Value - host.Clock.GetUtcNow().UtcDateTime).Duration().ShouldBeLessThan(TimeSpan.FromSeconds(5));
        }

        (await AuditCountAsync(host, "auth.security-key-added")).ShouldBe(1);
        (await AuditCountAsync(host, "auth.security-key-used")).ShouldBe(1);
        (await AuditCountAsync(host, "auth.security-key-add-failed")).ShouldBe(1);

        // A recovery code still answers the second step (the API's sign-in, which takes codes).
        using var phone = StaffClients.Browser(host, IPAddress.Parse("127.0.0.41"));
        using var recovered = await phone.PostAsJsonAsync(new Uri("/api/auth/login", UriKind.Relative), new { username = "alice", password = StaffClients.Password, code = codes.Codes[0] });
        recovered.StatusCode.ShouldBe(HttpStatusCode.NoContent);
    }

    [Theory]
    [InlineData(DatabaseProvider.Sqlite)]
    [InlineData(DatabaseProvider.Postgres)]
    public async Task Challenges_WorkOnce_ForTheirOwnSession_AndExpire(DatabaseProvider provider)
    {
        await using var host = await HomeroomHost.StartAsync(provider);
        var keys = host.GetService<StaffSecurityKeys>();
        var bob = await NewAccountAsync(host, "bob", "readOnly");
        using var key = new SoftwareSecurityKey();

        // Another session's challenge is not this one's.
        var (_, options) = await keys.BeginRegistrationAsync(bob, SessionA, StaffClients.Password, Origin(host), default);
        var answer = key.Attest(options!, Origin(host));
        (await keys.FinishRegistrationAsync(bob, SessionB, "Key", answer, Origin(host), default)).Outcome.ShouldBe(SecurityKeyOutcome.NoChallenge);

        // Answered once (here wrongly: another challenge signed), it is gone: the right answer comes too late.
        var forged = key.Attest(options!, Origin(host), challengeOverride: "AAAAAAAAAAAAAAAAAAAAAA");
        (await keys.FinishRegistrationAsync(bob, SessionA, "Key", forged, Origin(host), default)).Outcome.ShouldBe(SecurityKeyOutcome.Invalid);
        (await keys.FinishRegistrationAsync(bob, SessionA, "Key", answer, Origin(host), default)).Outcome.ShouldBe(SecurityKeyOutcome.NoChallenge);

        // An answer from another origin is refused.
        (_, options) = await keys.BeginRegistrationAsync(bob, SessionA, StaffClients.Password, Origin(host), default);
        (await keys.FinishRegistrationAsync(bob, SessionA, "Key", key.Attest(options!, "https://homeroom.example.net"), Origin(host), default)).Outcome
            .ShouldBe(SecurityKeyOutcome.Invalid);

        // Too late.
        (_, options) = await keys.BeginRegistrationAsync(bob, SessionA, StaffClients.Password, Origin(host), default);
        host.Clock.Advance(StaffSecurityKeys.ChallengeLifetime + TimeSpan.FromSeconds(1));
        (await keys.FinishRegistrationAsync(bob, SessionA, "Key", key.Attest(options!, Origin(host)), Origin(host), default)).Outcome.ShouldBe(SecurityKeyOutcome.NoChallenge);
        await CountKeysAsync(host, bob).ShouldBeAsync(0);

        // In time, once.
        (_, options) = await keys.BeginRegistrationAsync(bob, SessionA, StaffClients.Password, Origin(host), default);
        answer = key.Attest(options!, Origin(host));
        (await keys.FinishRegistrationAsync(bob, SessionA, "Key", answer, Origin(host), default)).Outcome.ShouldBe(SecurityKeyOutcome.Done);
        (await keys.FinishRegistrationAsync(bob, SessionA, "Key", answer, Origin(host), default)).Outcome.ShouldBe(SecurityKeyOutcome.NoChallenge);

        // The same key again is refused, for this account or another.
        (_, options) = await keys.BeginRegistrationAsync(bob, SessionA, StaffClients.Password, Origin(host), default);
        (await keys.FinishRegistrationAsync(bob, SessionA, "Again", key.Attest(options!, Origin(host)), Origin(host), default)).Outcome
            .ShouldBe(SecurityKeyOutcome.AlreadyRegistered);
        await CountKeysAsync(host, bob).ShouldBeAsync(1);

        // At sign-in: an answer is good for its own challenge only; signing in again with it is refused.
        using var laptop = StaffClients.Browser(host, IPAddress.Parse("127.0.0.42"));
        var console = await ConsoleSignIn.PasswordAsync(laptop, "bob");
        var assertion = key.Assert(await console.KeyOptionsAsync(), Origin(host));
        using (var first = await console.AnswerAsync(assertion))
        {
            first.Headers.Location!.ToString().ShouldBe("/devices");
        }

        using var other = StaffClients.Browser(host, IPAddress.Parse("127.0.0.43"));
        var replay = await ConsoleSignIn.PasswordAsync(other, "bob");
        await replay.KeyOptionsAsync();
        using (var replayed = await replay.AnswerAsync(assertion))
        {
            replayed.Headers.Location!.ToString().ShouldStartWith("/login?step=code&error=key");
            StaffClients.SessionCookie(replayed).ShouldBeNull();
        }

        // Expired challenges are deleted by the session retention job.
        await keys.BeginRegistrationAsync(bob, SessionB, StaffClients.Password, Origin(host), default);
        host.Clock.Advance(StaffSecurityKeys.ChallengeLifetime + TimeSpan.FromSeconds(1));
        await host.Services.GetServices<Microsoft.Extensions.Hosting.IHostedService>().OfType<SessionRetention>().Single().PurgeAsync(default);
        await using var db = await Db(host);
        (await db.Set<StaffSecurityKeyChallenge>().CountAsync()).ShouldBe(0);
    }

    [Theory]
    [InlineData(DatabaseProvider.Sqlite)]
    [InlineData(DatabaseProvider.Postgres)]
    public async Task ACounterThatDoesNotGoUp_IsRefusedAndAudited(DatabaseProvider provider)
    {
        await using var host = await HomeroomHost.StartAsync(provider);
        var carol = await NewAccountAsync(host, "carol", "readOnly");
        using var key = new SoftwareSecurityKey { Counter = 10 };
        (await RegisterAsync(host, carol, key, "Keyring")).Outcome.ShouldBe(SecurityKeyOutcome.Done);

        using var laptop = StaffClients.Browser(host, IPAddress.Parse("127.0.0.44"));
        var console = await ConsoleSignIn.PasswordAsync(laptop, "carol");
        using (var first = await console.AnswerAsync(key.Assert(await console.KeyOptionsAsync(), Origin(host))))
        {
            first.Headers.Location!.ToString().ShouldBe("/devices");
        }

        // A copy of the key made before that sign-in signs with the counter the original already used.
        key.Counter = 10;
        using var thief = StaffClients.Browser(host, IPAddress.Parse("127.0.0.45"));
        var stolen = await ConsoleSignIn.PasswordAsync(thief, "carol");
        using (var refused = await stolen.AnswerAsync(key.Assert(await stolen.KeyOptionsAsync(), Origin(host))))
        {
            refused.Headers.Location!.ToString().ShouldStartWith("/login?step=code&error=key");
            StaffClients.SessionCookie(refused).ShouldBeNull();
        }

        await using var db = await Db(host);
        (await db.Set<StaffSecurityKey>().SingleAsync(k => k.AccountId == carol)).SignCount.ShouldBe(11);
        var entries = await db.Set<AuditEntry>().Where(e => e.Action == "auth.security-key-refused").Select(e => e.Details).ToListAsync();
        entries.ShouldHaveSingleItem()!.ShouldContain("may have been copied");
        (await db.Set<AuditEntry>().CountAsync(e => e.Action == "auth.sign-in-failed" && e.TargetId == "carol")).ShouldBe(1);
    }

    [Theory]
    [InlineData(DatabaseProvider.Sqlite)]
    [InlineData(DatabaseProvider.Postgres)]
    public async Task BadAnswers_AreRefused_AndStoreNothing(DatabaseProvider provider)
    {
        await using var host = await HomeroomHost.StartAsync(provider);
        var keys = host.GetService<StaffSecurityKeys>();
        var dan = await NewAccountAsync(host, "dan", "readOnly");
        using var key = new SoftwareSecurityKey();

        async Task<SecurityKeyOutcome> FinishAsync(string? name, Func<string, string> answer)
        {
            var (_, options) = await keys.BeginRegistrationAsync(dan, SessionA, StaffClients.Password, Origin(host), default);
            return (await keys.FinishRegistrationAsync(dan, SessionA, name, answer(options!), Origin(host), default)).Outcome;
        }

        var good = (string options) => key.Attest(options, Origin(host));
        (await FinishAsync("Key", o => good(o) + new string(' ', StaffSecurityKeys.MaxResponseLength))).ShouldBe(SecurityKeyOutcome.Invalid);
        (await FinishAsync("Key", o => good(o).Replace("\"attestationObject\":\"", "\"attestationObject\":\"*!", StringComparison.Ordinal))).ShouldBe(SecurityKeyOutcome.Invalid);
        (await FinishAsync("Key", _ => "not json")).ShouldBe(SecurityKeyOutcome.Invalid);
        (await FinishAsync("Key", _ => """{"id":"x","rawId":"eA","type":"public-key","response":{"attestationObject":"oA","clientDataJSON":"e30"}}""")).ShouldBe(SecurityKeyOutcome.Invalid);
        (await FinishAsync(new string('n', StaffSecurityKeys.MaxNameLength + 1), good)).ShouldBe(SecurityKeyOutcome.Invalid);
        (await FinishAsync("  ", good)).ShouldBe(SecurityKeyOutcome.Invalid);
        await CountKeysAsync(host, dan).ShouldBeAsync(0);
        (await host.GetService<StaffTwoStep>().StatusAsync(dan, default))!.RecoveryCodesLeft.ShouldBe(0);
        (await FinishAsync("Key", good)).ShouldBe(SecurityKeyOutcome.Done);

        // At sign-in: too long, not base64url, not JSON, a key this account does not have: each a failed sign-in, the counter untouched.
        using var stranger = new SoftwareSecurityKey();
        var bad = new Func<string, string>[]
        {
            o => key.Assert(o, Origin(host)) + new string(' ', StaffSecurityKeys.MaxResponseLength),
            o => key.Assert(o, Origin(host)).Replace("\"signature\":\"", "\"signature\":\"*!", StringComparison.Ordinal),
            _ => "{",
            o => stranger.Assert(o, Origin(host)),
        };
        for (var i = 0; i < bad.Length; i++)
        {
            using var client = StaffClients.Browser(host, IPAddress.Parse($"127.0.0.{50 + i}"));
            var console = await ConsoleSignIn.PasswordAsync(client, "dan");
            using var refused = await console.AnswerAsync(bad[i](await console.KeyOptionsAsync()));
            refused.Headers.Location!.ToString().ShouldStartWith("/login?step=code&error=key", customMessage: $"answer {i}");
        }

        // Without a password step there is no challenge to ask for.
        using var nobody = StaffClients.Browser(host, IPAddress.Parse("127.0.0.60"));
        using var noOptions = await nobody.PostAsync(new Uri("/auth/sign-in/key/options", UriKind.Relative), null);
        noOptions.StatusCode.ShouldBe(HttpStatusCode.Unauthorized);
        (await noOptions.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("title").GetString().ShouldBe("No security key step");

        await using var db = await Db(host);
        (await db.Set<StaffSecurityKey>().SingleAsync(k => k.AccountId == dan)).SignCount.ShouldBe(0);
        (await db.Set<AuditEntry>().CountAsync(e => e.Action == "auth.security-key-refused")).ShouldBe(bad.Length);
    }

    [Fact]
    public async Task WrongKeyAnswers_AreThrottledLikeWrongCodes()
    {
        await using var host = await HomeroomHost.StartAsync(DatabaseProvider.Sqlite);
        var erin = await NewAccountAsync(host, "erin", "readOnly");
        using var key = new SoftwareSecurityKey();
        using var stranger = new SoftwareSecurityKey();
        (await RegisterAsync(host, erin, key, "Key")).Outcome.ShouldBe(SecurityKeyOutcome.Done);

        // The password (counted until the sign-in succeeds) and two wrong keys are the three free attempts.
        using var guesser = StaffClients.Browser(host, IPAddress.Parse("127.0.0.61"));
        var console = await ConsoleSignIn.PasswordAsync(guesser, "erin");
        for (var i = 0; i < 2; i++)
        {
            using var wrong = await console.AnswerAsync(stranger.Assert(await console.KeyOptionsAsync(), Origin(host)));
            wrong.Headers.Location!.ToString().ShouldStartWith("/login?step=code&error=key");
        }

        // Now even the right key waits, and no challenge is handed out meanwhile.
        host.Clock.Advance(TimeSpan.FromMilliseconds(100));
        (await console.KeyOptionsStatusAsync()).ShouldBe(HttpStatusCode.Unauthorized);
        using var waiting = await console.AnswerAsync("{}");
        Regex.IsMatch(waiting.Headers.Location!.ToString(), "^/login\\?step=code&wait=[0-9]+&").ShouldBeTrue(waiting.Headers.Location.ToString());
        StaffClients.SessionCookie(waiting).ShouldBeNull();

        host.Clock.Advance(TimeSpan.FromSeconds(2));
        using var signedIn = await console.AnswerAsync(key.Assert(await console.KeyOptionsAsync(), Origin(host)));
        signedIn.Headers.Location!.ToString().ShouldBe("/devices");
    }

    [Fact]
    public async Task RequiredForDistrictAdmins_AKeyIsEnough_AndAResetRemovesKeys()
    {
        await using var host = await HomeroomHost.StartAsync(DatabaseProvider.Sqlite, "Homeroom:Accounts:RequireTwoStepForDistrictAdmins=true");
        var keys = host.GetService<StaffSecurityKeys>();
        using var admin = await host.SignInAsNewAccountAsync("frank", "districtAdmin");
        var frank = (await admin.GetFromJsonAsync<JsonElement>("/api/auth/me")).GetProperty("id").GetGuid();
        (await admin.StatusAsync("/api/devices")).ShouldBe(HttpStatusCode.Forbidden);

        using var key = new SoftwareSecurityKey();
        using var spare = new SoftwareSecurityKey();
        (await RegisterAsync(host, frank, key, "Main")).Outcome.ShouldBe(SecurityKeyOutcome.Done);

        // The first second step ends the account's other sessions, as turning on the app does; signing in with the key gives the whole role.
        (await admin.StatusAsync("/api/auth/me")).ShouldBe(HttpStatusCode.Unauthorized);
        using var laptop = StaffClients.Browser(host, IPAddress.Parse("127.0.0.62"));
        var console = await ConsoleSignIn.PasswordAsync(laptop, "frank");
        using (var signedIn = await console.AnswerAsync(key.Assert(await console.KeyOptionsAsync(), Origin(host))))
        {
            signedIn.Headers.Location!.ToString().ShouldBe("/devices");
        }

        (await laptop.StatusAsync("/api/devices")).ShouldBe(HttpStatusCode.OK);

        // The last key cannot go while the district requires a second step; with a spare, it can.
        var main = (await keys.ListAsync(frank, default)).Single().Id;
        (await keys.RemoveAsync(frank, SessionA, StaffClients.Password, main, default)).ShouldBe(SecurityKeyOutcome.Required);
        (await RegisterAsync(host, frank, spare, "Spare")).Outcome.ShouldBe(SecurityKeyOutcome.Done);
        (await keys.RemoveAsync(frank, SessionA, "wrong password", main, default)).ShouldBe(SecurityKeyOutcome.WrongPassword);
        (await keys.RemoveAsync(frank, SessionA, StaffClients.Password, Guid.NewGuid(), default)).ShouldBe(SecurityKeyOutcome.NotFound);
        (await keys.RemoveAsync(frank, SessionA, StaffClients.Password, main, default)).ShouldBe(SecurityKeyOutcome.Done);
        (await keys.ListAsync(frank, default)).Single().Name.ShouldBe("Spare");
        (await AuditCountAsync(host, "auth.security-key-removed")).ShouldBe(1);

        // Lost the spare too: another district admin resets the account's two-step sign-in; the keys and codes go, and its sessions end.
        using (var reset = await host.Client.DeleteAsync($"/api/accounts/{frank}/two-step"))
        {
            reset.StatusCode.ShouldBe(HttpStatusCode.NoContent);
        }

        await CountKeysAsync(host, frank).ShouldBeAsync(0);
        (await host.GetService<StaffTwoStep>().StatusAsync(frank, default))!.RecoveryCodesLeft.ShouldBe(0);
        (await laptop.StatusAsync("/api/devices")).ShouldBe(HttpStatusCode.Unauthorized);
        (await AuditCountAsync(host, "auth.security-key-removed")).ShouldBe(2);
    }

    [Fact]
    public async Task AtMostTenKeys_PerAccount()
    {
        await using var host = await HomeroomHost.StartAsync(DatabaseProvider.Sqlite);
        var keys = host.GetService<StaffSecurityKeys>();
        var gus = await NewAccountAsync(host, "gus", "readOnly");
        for (var i = 0; i < StaffSecurityKeys.MaxKeysPerAccount; i++)
        {
            using var key = new SoftwareSecurityKey();
            (await RegisterAsync(host, gus, key, $"Key {i}")).Outcome.ShouldBe(SecurityKeyOutcome.Done);
        }

        (await keys.BeginRegistrationAsync(gus, SessionA, StaffClients.Password, Origin(host), default)).Outcome.ShouldBe(SecurityKeyOutcome.TooMany);
        await CountKeysAsync(host, gus).ShouldBeAsync(StaffSecurityKeys.MaxKeysPerAccount);
    }

    private static string Origin(HomeroomHost host) => host.BaseAddress.GetLeftPart(UriPartial.Authority);

    private static async Task<(SecurityKeyOutcome Outcome, RecoveryCodesDto? Codes)> RegisterAsync(HomeroomHost host, Guid account, SoftwareSecurityKey key, string name)
    {
        var keys = host.GetService<StaffSecurityKeys>();
        var (begun, options) = await keys.BeginRegistrationAsync(account, SessionA, StaffClients.Password, Origin(host), default);
        begun.ShouldBe(SecurityKeyOutcome.Done);
        return await keys.FinishRegistrationAsync(account, SessionA, name, key.Attest(options!, Origin(host)), Origin(host), default);
    }

    private static async Task<Guid> NewAccountAsync(HomeroomHost host, string username, string role) =>
        (await host.PostJsonAsync<JsonElement>("/api/accounts", new { username, displayName = username, password = StaffClients.Password, role })).GetProperty("id").GetGuid();

    private static Task<HomeroomDbContext> Db(HomeroomHost host) => host.GetService<IDbContextFactory<HomeroomDbContext>>().CreateDbContextAsync();

    private static async Task<int> CountKeysAsync(HomeroomHost host, Guid account)
    {
        await using var db = await Db(host);
        return await db.Set<StaffSecurityKey>().CountAsync(k => k.AccountId == account);
    }

    private static async Task<int> AuditCountAsync(HomeroomHost host, string action) =>
        (await host.GetJsonAsync<JsonElement>($"/api/audit?action={action}")).GetProperty("total").GetInt32();

    /// <summary>The console's sign-in form, as the sign-in page posts it: password first, then the key's answer.</summary>
    private sealed class ConsoleSignIn(HttpClient client, string token)
    {
        public static async Task<ConsoleSignIn> PasswordAsync(HttpClient client, string username)
        {
            using var login = await client.GetAsync(new Uri("/login", UriKind.Relative)).WaitAsync(HomeroomHost.Timeout);
            var html = await login.Content.ReadAsStringAsync();
            var token = Regex.Match(html, "name=\"__RequestVerificationToken\" value=\"([^\"]+)\"").Groups[1].Value;
            using var form = new FormUrlEncodedContent(new Dictionary<string, string>
            {
                ["username"] = username, ["password"] = StaffClients.Password, ["returnUrl"] = "/devices", ["__RequestVerificationToken"] = token,
            });
            using var posted = await client.PostAsync(new Uri("/auth/sign-in", UriKind.Relative), form).WaitAsync(HomeroomHost.Timeout);
            posted.Headers.Location!.ToString().ShouldStartWith("/login?step=code");
            return new ConsoleSignIn(client, token);
        }

        public async Task<string> KeyOptionsAsync()
        {
            using var response = await client.PostAsync(new Uri("/auth/sign-in/key/options", UriKind.Relative), null).WaitAsync(HomeroomHost.Timeout);
            response.StatusCode.ShouldBe(HttpStatusCode.OK);
            return await response.Content.ReadAsStringAsync();
        }

        public async Task<HttpStatusCode> KeyOptionsStatusAsync()
        {
            using var response = await client.PostAsync(new Uri("/auth/sign-in/key/options", UriKind.Relative), null).WaitAsync(HomeroomHost.Timeout);
            return response.StatusCode;
        }

        public async Task<HttpResponseMessage> AnswerAsync(string assertion)
        {
            using var form = new FormUrlEncodedContent(new Dictionary<string, string>
            {
                ["assertion"] = assertion, ["returnUrl"] = "/devices", ["__RequestVerificationToken"] = token,
            });
            var response = await client.PostAsync(new Uri("/auth/sign-in/key", UriKind.Relative), form).WaitAsync(HomeroomHost.Timeout);
            response.StatusCode.ShouldBe(HttpStatusCode.Redirect);
            return response;
        }
    }
}

internal static class SecurityKeyTestExtensions
{
    public static async Task ShouldBeAsync(this Task<int> count, int expected) => (await count).ShouldBe(expected);
}
