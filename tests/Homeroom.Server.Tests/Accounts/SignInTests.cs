using System.Diagnostics;
using System.Net;
using System.Text.Json;
using Homeroom.Server.Accounts;
using Homeroom.Server.Data;
using Homeroom.Server.Tests.Infrastructure;

namespace Homeroom.Server.Tests.Accounts;

/// <summary>
/// Sign-in slows guessing per (name, address) instead of locking accounts, and takes as long for a
/// name that does not exist as for a wrong password. Clients connect from different loopback
/// addresses (127.0.0.x) to be different clients.
/// </summary>
public sealed class SignInTests : IAsyncLifetime
{
    private static readonly IPAddress Attacker = IPAddress.Parse("127.0.0.2");
    private static readonly IPAddress Office = IPAddress.Parse("127.0.0.3");
    private HomeroomHost _host = null!;

    // Waits of a minute and more, so that a slow machine taking a second between two requests changes nothing.
    // The tests' low password cost: these count answers and waits, not time (SignInTimingTests times a hash).
    public async Task InitializeAsync() => _host = await HomeroomHost.StartAsync(
        DatabaseProvider.Sqlite, "Homeroom:Accounts:SignInBaseDelay=00:01:00", "Homeroom:Accounts:SignInMaxDelay=00:10:00");

    public async Task DisposeAsync() => await _host.DisposeAsync();

    [Fact]
    public async Task AttackersGuesses_ThrottleOnlyTheAttacker_TheRealAdminSignsInFromAnotherAddress()
    {
        using var attacker = StaffClients.Browser(_host, Attacker);
        for (var i = 0; i < 8; i++)
        {
            _host.Clock.Advance(TimeSpan.FromMinutes(10)); // past any wait, so every guess is a real failure
            using var guess = await attacker.LoginAsync("admin", "guess" + i);
            guess.StatusCode.ShouldBe(HttpStatusCode.Unauthorized);
        }

        using var admin = StaffClients.Browser(_host, Office);
        using var signIn = await admin.LoginAsync("admin", HomeroomHost.AdminPassword);
        signIn.StatusCode.ShouldBe(HttpStatusCode.NoContent);

        // The attacker's address waits, even with the right password, which is not looked at.
        using var refused = await attacker.LoginAsync("admin", HomeroomHost.AdminPassword);
        refused.StatusCode.ShouldBe(HttpStatusCode.TooManyRequests);
        refused.Headers.RetryAfter!.Delta!.Value.ShouldBeGreaterThan(TimeSpan.Zero);
        StaffClients.SessionCookie(refused).ShouldBeNull();
        (await _host.GetJsonAsync<JsonElement>("/api/audit?action=auth.sign-in-throttled")).GetProperty("total").GetInt32().ShouldBe(1);
        (await _host.GetJsonAsync<JsonElement>("/api/audit?action=auth.sign-in-failed")).GetProperty("total").GetInt32().ShouldBe(8);
    }

    [Fact]
    public async Task Waits_DoubleAfterTheFreeAttempts_AndASuccessClearsThem()
    {
        using var client = StaffClients.Browser(_host, Attacker);
        for (var i = 0; i < 3; i++)
        {
            (await client.LoginAsync("admin", "wrong")).StatusCode.ShouldBe(HttpStatusCode.Unauthorized);
        }

        foreach (var minutes in new[] { 1, 2, 4, 8 })
        {
            using var refused = await client.LoginAsync("admin", "wrong");
            refused.StatusCode.ShouldBe(HttpStatusCode.TooManyRequests);
            refused.Headers.RetryAfter!.Delta!.Value.TotalSeconds.ShouldBeInRange((minutes * 60) - 10, minutes * 60);
            _host.Clock.Advance(TimeSpan.FromMinutes(minutes));
            (await client.LoginAsync("admin", "wrong")).StatusCode.ShouldBe(HttpStatusCode.Unauthorized);
        }

        using (var capped = await client.LoginAsync("admin", "wrong"))
        {
            capped.Headers.RetryAfter!.Delta!.Value.TotalSeconds.ShouldBeInRange(590, 600); // 16 minutes, but at most 10
        }

        _host.Clock.Advance(TimeSpan.FromMinutes(10));
        (await client.LoginAsync("admin", HomeroomHost.AdminPassword)).StatusCode.ShouldBe(HttpStatusCode.NoContent);
        (await client.LoginAsync("admin", "wrong again")).StatusCode.ShouldBe(HttpStatusCode.Unauthorized); // counting starts over
    }

    [Fact]
    public async Task UnknownNames_AreThrottledLikeRealOnes_SoTheAnswerSaysNothing()
    {
        using var client = StaffClients.Browser(_host, Attacker);
        foreach (var name in new[] { "admin", "nobody-here" })
        {
            var answers = new List<HttpStatusCode>();
            for (var i = 0; i < 4; i++)
            {
                using var response = await client.LoginAsync(name, "wrong");
                answers.Add(response.StatusCode);
            }

            answers.ShouldBe([HttpStatusCode.Unauthorized, HttpStatusCode.Unauthorized, HttpStatusCode.Unauthorized, HttpStatusCode.TooManyRequests], name);
        }
    }

    [Fact]
    public async Task ConsoleForm_WhileWaiting_SaysHowLong()
    {
        using var client = StaffClients.Browser(_host, Attacker);
        for (var i = 0; i < 3; i++)
        {
            (await client.LoginAsync("admin", "wrong")).StatusCode.ShouldBe(HttpStatusCode.Unauthorized);
        }

        using var login = await client.GetAsync(new Uri("/login", UriKind.Relative));
        var html = await login.Content.ReadAsStringAsync();
        var token = System.Text.RegularExpressions.Regex.Match(html, "name=\"__RequestVerificationToken\" value=\"([^\"]+)\"").Groups[1].Value;
        using var form = new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["username"] = "admin", ["password"] = HomeroomHost.AdminPassword, ["returnUrl"] = "/devices", ["__RequestVerificationToken"] = token,
        });
        using var posted = await client.PostAsync(new Uri("/auth/sign-in", UriKind.Relative), form);

        posted.StatusCode.ShouldBe(HttpStatusCode.Redirect);
        var wait = System.Text.RegularExpressions.Regex.Match(posted.Headers.Location!.ToString(), "^/login\\?wait=([0-9]+)&returnUrl=%2Fdevices$");
        wait.Success.ShouldBeTrue(posted.Headers.Location.ToString());
        using var page = await client.GetAsync(posted.Headers.Location);
        (await page.Content.ReadAsStringAsync()).ShouldContain($"Try again in {wait.Groups[1].Value} seconds.");
        StaffClients.SessionCookie(posted).ShouldBeNull();
    }
}

/// <summary>
/// A name that does not exist takes as long to refuse as a wrong password. Its own server, with production's
/// password cost rather than the tests' low one: the comparison needs a hash's work to show.
/// </summary>
public sealed class SignInTimingTests : IAsyncLifetime
{
    private HomeroomHost _host = null!;

    public async Task InitializeAsync() => _host = await HomeroomHost.StartAsync(
        DatabaseProvider.Sqlite, "Homeroom:Accounts:SignInBaseDelay=00:01:00", "Homeroom:Accounts:SignInMaxDelay=00:10:00",
        $"Homeroom:Accounts:PasswordHashIterations={PasswordHasher.DefaultIterations}");

    public async Task DisposeAsync() => await _host.DisposeAsync();

    [Fact]
    public async Task SignIn_ForAnUnknownName_TakesAsLongAsAWrongPassword()
    {
        // Each attempt comes from its own address, so neither throttling nor the rate limit answers early.
        var accounts = new List<string>();
        for (var i = 0; i < 5; i++)
        {
            accounts.Add($"staff{i}");
            (await _host.PostJsonAsync("/api/accounts", new { username = $"staff{i}", displayName = $"Staff {i}", password = StaffClients.Password, role = "readOnly" })).EnsureSuccessStatusCode();
        }

        var known = new List<double>();
        var unknown = new List<double>();
        var address = 10;
        for (var round = -2; round < 20; round++)
        {
            // Alternate, so anything that warms up or slows down over the run affects both alike.
            var knownTime = await TimeFailedSignInAsync(accounts[(round + 2) % accounts.Count], address++);
            var unknownTime = await TimeFailedSignInAsync($"nobody{round + 2}", address++);
            if (round >= 0)
            {
                known.Add(knownTime);
                unknown.Add(unknownTime);
            }
        }

        var ratio = Median(unknown) / Median(known);
        ratio.ShouldBeInRange(0.5, 2.0, $"median unknown {Median(unknown):F1} ms, known {Median(known):F1} ms");
    }

    private async Task<double> TimeFailedSignInAsync(string username, int lastOctet)
    {
        using var client = StaffClients.Browser(_host, IPAddress.Parse($"127.0.1.{lastOctet}"));
        (await client.StatusAsync("/healthz")).ShouldBe(HttpStatusCode.OK); // connect first: time the sign-in, not the connection
        var watch = Stopwatch.StartNew();
        using var response = await client.LoginAsync(username, "not the password");
        watch.Stop();
        response.StatusCode.ShouldBe(HttpStatusCode.Unauthorized);
        return watch.Elapsed.TotalMilliseconds;
    }

    private static double Median(List<double> values)
    {
        var sorted = values.Order().ToList();
        return sorted.Count % 2 == 1 ? sorted[sorted.Count / 2] : (sorted[(sorted.Count / 2) - 1] + sorted[sorted.Count / 2]) / 2;
    }
}

/// <summary>The throttle's rules alone: no server (each of these cases started one while they were part of <see cref="SignInTests"/>).</summary>
public sealed class SignInThrottleRuleTests
{
    [Theory]
    [InlineData(3, 1)]
    [InlineData(4, 2)]
    [InlineData(5, 4)]
    [InlineData(12, 512)]
    [InlineData(13, 900)]
    [InlineData(500, 900)]
    public void DelayAfter_DoublesFromTheBase_UpToTheMaximum(int failures, int seconds) =>
        SignInThrottle.DelayAfter(failures, new AccountOptions()).ShouldBe(TimeSpan.FromSeconds(seconds));

    [Fact]
    public void DelayAfter_TheFreeAttempts_IsZero() =>
        SignInThrottle.DelayAfter(2, new AccountOptions()).ShouldBe(TimeSpan.Zero);

    [Theory]
    [InlineData("2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64")]
    [InlineData("2001:db8:1:2:ffff::1", "2001:db8:1:2::/64")]
    [InlineData("::ffff:192.0.2.7", "192.0.2.7")]
    [InlineData("192.0.2.7", "192.0.2.7")]
    public void AddressKey_GroupsAnIPv6ClientByItsNetwork(string address, string key) =>
        SignInThrottle.AddressKey(IPAddress.Parse(address)).ShouldBe(key);
}
