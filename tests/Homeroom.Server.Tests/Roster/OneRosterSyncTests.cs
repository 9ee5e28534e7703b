using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Homeroom.OneRosterData;
using Homeroom.Server.Data;
using Homeroom.Server.Roster.OneRoster;
using Homeroom.Server.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;

namespace Homeroom.Server.Tests.Roster;

/// <summary>
/// OneRoster REST sync against <see cref="FakeOneRosterServer"/> through the real API and database: a full
/// sync in 1.1 (OAuth 1.0a) and 1.2 (OAuth 2) gives the roster the CSV import of the same set gives, a
/// re-sync changes nothing, changed and removed users are updated and archived, every kind of failing
/// service gives a failed run that changes nothing, the archive brake holds a sync at its preview, the
/// schedule runs a due sync, and the secret is neither answered nor stored in plain text.
/// </summary>
public abstract class OneRosterSyncTests(DatabaseProvider provider)
{
    private const string Connection = "/api/roster/oneroster/connection", Sync = "/api/roster/oneroster/sync";

    // Short timeouts and back-off, a 1 MB page cap and a schedule checked every second, so failures and the schedule show quickly.
    private static readonly string[] Settings =
    [
        "Homeroom:OneRoster:RestRequestTimeout=00:00:02", "Homeroom:OneRoster:RestRetryBaseDelay=00:00:00.050", "Homeroom:OneRoster:RestMaxRetries=2",
        "Homeroom:OneRoster:MaxRestPageBytes=1000000", "Homeroom:OneRoster:RestPageSize=300", "Homeroom:OneRoster:SyncCheckInterval=00:00:01",
        "Homeroom:OneRoster:RestMaxRetryWait=00:00:05",
        .. OneRosterImportTests.Limits,
    ];

    private sealed record Counts(int Schools, int People, int ArchivedPeople, int Classes, int ArchivedClasses, int Members);

    [Theory]
    [InlineData("1.1")]
    [InlineData("1.2")]
    public async Task FullSync_GivesTheCsvImportsRoster_AndAResyncChangesNothing(string version)
    {
        await using var host = await HomeroomHost.StartAsync(provider, Settings);
        var builder = new OneRosterSetBuilder(seed: 18) { Version = version };
        var set = builder.Build();
        await using var fake = await FakeOneRosterServer.StartAsync(version, set);
        fake.SendTotal = version == "1.2"; // 1.1 pages by the Link header alone, 1.2 by X-Total-Count alone
        fake.SendLinks = version == "1.1";
        await SaveAsync(host, fake, apply: true);

        var run = await SyncAsync(host);
        run.GetProperty("state").GetString().ShouldBe("applied", run.ToString());
        run.GetProperty("source").GetString().ShouldBe("rest");
        var preview = run.GetProperty("preview");
        preview.GetProperty("version").GetString().ShouldBe(version);
        preview.GetProperty("students").GetProperty("created").GetInt32().ShouldBe(2_000);
        preview.GetProperty("teachers").GetProperty("created").GetInt32().ShouldBe(60);
        preview.GetProperty("classes").GetProperty("created").GetInt32().ShouldBe(100);
        preview.GetProperty("skippedUsers").GetInt32().ShouldBe(10);
        (await CountsAsync(host)).ShouldBe(new Counts(3, 2_060, 0, 100, 0, builder.EnrollmentCount));

        // The CSV export of the same set finds nothing to change: the REST roster is the CSV roster, field for field.
        using (var content = new ByteArrayContent(OneRosterSetBuilder.Zip(set)))
        {
            content.Headers.ContentType = new MediaTypeHeaderValue("application/zip");
            using var upload = await host.Client.PostAsync(new Uri("/api/roster/oneroster/imports?fileName=same.zip", UriKind.Relative), content).WaitAsync(HomeroomHost.Timeout);
            var csv = JsonDocument.Parse(await upload.Content.ReadAsStringAsync()).RootElement;
            upload.StatusCode.ShouldBe(HttpStatusCode.Created, csv.ToString());
            csv.GetProperty("preview").GetProperty("changes").GetInt32().ShouldBe(0, csv.ToString());
            csv.GetProperty("preview").GetProperty("errorCount").GetInt32().ShouldBe(0);
            csv.GetProperty("source").GetString().ShouldBe("upload");
        }

        // Again: nothing to do, and nothing done.
        var again = await SyncAsync(host);
        again.GetProperty("state").GetString().ShouldBe("applied");
        again.GetProperty("preview").GetProperty("changes").GetInt32().ShouldBe(0);
        again.GetProperty("preview").GetProperty("students").GetProperty("unchanged").GetInt32().ShouldBe(2_000);
        (await CountsAsync(host)).ShouldBe(new Counts(3, 2_060, 0, 100, 0, builder.EnrollmentCount));
        fake.Refused.ShouldBe(0);

        // The history names the runs as REST syncs, by whom; the audit log has them.
        var history = await host.GetJsonAsync<JsonElement>("/api/roster/oneroster/imports");
        history.EnumerateArray().Count(i => i.GetProperty("source").GetString() == "rest" && i.GetProperty("createdBy").GetString() == "admin").ShouldBe(2);
        await using var db = await host.GetService<IDbContextFactory<HomeroomDbContext>>().CreateDbContextAsync();
        (await db.AuditLog.CountAsync(a => a.Action == "oneroster.sync")).ShouldBe(2);
        (await db.AuditLog.CountAsync(a => a.Action == "oneroster.connection.save")).ShouldBe(1);
    }

    [Theory]
    [InlineData("1.1")]
    [InlineData("1.2")]
    public async Task Resync_UpdatesAChangedUser_AndArchivesRemovedAndDeletedOnes(string version)
    {
        await using var host = await HomeroomHost.StartAsync(provider, Settings);
        var builder = new OneRosterSetBuilder(seed: 5) { Version = version, Students = 60, Teachers = 3, Classes = 6, Guardians = 0 };
        await using var fake = await FakeOneRosterServer.StartAsync(version, builder.Build());
        await SaveAsync(host, fake, apply: true);
        (await SyncAsync(host)).GetProperty("state").GetString().ShouldBe("applied");
        var before = await CountsAsync(host);

        fake.Change("users", users =>
        {
            users.Single(u => (string)u["sourcedId"]! == OneRosterSetBuilder.StudentId(1))["givenName"] = "Renamed";
            users.RemoveAll(u => (string)u["sourcedId"]! == OneRosterSetBuilder.StudentId(2));
            users.Single(u => (string)u["sourcedId"]! == OneRosterSetBuilder.StudentId(3))["status"] = "tobedeleted";
        });
        // The service no longer lists the removed student's enrollments, nor (as the planner requires) the deleted one's.
        fake.Change("enrollments", e => e.RemoveAll(x => (string)x["user"]!["sourcedId"]! is var user && (user == OneRosterSetBuilder.StudentId(2) || user == OneRosterSetBuilder.StudentId(3))));

        var run = await SyncAsync(host);
        run.GetProperty("state").GetString().ShouldBe("applied", run.ToString());
        run.GetProperty("preview").GetProperty("students").GetProperty("changed").GetInt32().ShouldBe(1);
        run.GetProperty("preview").GetProperty("students").GetProperty("archived").GetInt32().ShouldBe(2);
        (await CountsAsync(host)).ShouldBe(before with { ArchivedPeople = 2 });
        await using var db = await host.GetService<IDbContextFactory<HomeroomDbContext>>().CreateDbContextAsync();
        (await db.People.SingleAsync(p => p.SourcedId == OneRosterSetBuilder.StudentId(1))).GivenName.ShouldBe("Renamed");
        (await db.People.SingleAsync(p => p.SourcedId == OneRosterSetBuilder.StudentId(2))).ArchivedAt.ShouldNotBeNull();
        (await db.People.SingleAsync(p => p.SourcedId == OneRosterSetBuilder.StudentId(3))).ArchivedAt.ShouldNotBeNull();
    }

    [Theory]
    [InlineData("1.1", "secret", "refused the credentials (401)")]
    [InlineData("1.2", "secret", "token endpoint refused the client id and secret (401)")]
    [InlineData("1.2", "garbage", "answer for users is not valid OneRoster JSON")]
    [InlineData("1.1", "oversize", "A page of classes is larger than 1,000,000 bytes")]
    [InlineData("1.2", "hang", "did not answer enrollments within 2 s; gave up after 3 attempt(s)")]
    [InlineData("1.1", "errors", "answered 500 for orgs; gave up after 3 attempt(s)")]
    public async Task FailingService_GivesAFailedRun_AndChangesNothing(string version, string failure, string reason)
    {
        await using var host = await HomeroomHost.StartAsync(provider, Settings);
        var builder = new OneRosterSetBuilder(seed: 9) { Version = version, Students = 30, Teachers = 3, Classes = 6, Guardians = 0 };
        await using var fake = await FakeOneRosterServer.StartAsync(version, builder.Build());
        await SaveAsync(host, fake, apply: true);
        (await SyncAsync(host)).GetProperty("state").GetString().ShouldBe("applied");
        fake.Change("users", users => users.Single(u => (string)u["sourcedId"]! == OneRosterSetBuilder.StudentId(0))["familyName"] = "Changed"); // a run that went through would change this
        var before = await CountsAsync(host);

        switch (failure)
        {
            case "secret":
                await SaveAsync(host, fake, apply: true, secret: "not-the-secret");
                break;
            case "garbage":
                fake.GarbageFor = "users";
                break;
            case "oversize":
                fake.OversizeFor = "classes";
                break;
            case "hang":
                fake.HangFor = "enrollments";
                break;
            default:
                fake.FailNext(100);
                break;
        }

        var run = await SyncAsync(host);
        run.GetProperty("state").GetString().ShouldBe("failed", run.ToString());
        run.GetProperty("note").GetString()!.ShouldContain(reason, Case.Sensitive, run.ToString());
        run.GetProperty("preview").GetProperty("errors")[0].GetProperty("message").GetString()!.ShouldContain(reason);
        (await CountsAsync(host)).ShouldBe(before);
        await using (var names = await host.GetService<IDbContextFactory<HomeroomDbContext>>().CreateDbContextAsync())
        {
            (await names.People.SingleAsync(p => p.SourcedId == OneRosterSetBuilder.StudentId(0))).FamilyName.ShouldNotBe("Changed");
        }

        // A failed run cannot be applied by hand either.
        using var apply = await host.Client.PostAsync(new Uri($"/api/roster/oneroster/imports/{run.GetProperty("id").GetGuid()}/apply", UriKind.Relative), null).WaitAsync(HomeroomHost.Timeout);
        apply.StatusCode.ShouldBe(HttpStatusCode.Conflict);
        await using var db = await host.GetService<IDbContextFactory<HomeroomDbContext>>().CreateDbContextAsync();
        (await db.AuditLog.CountAsync(a => a.Action == "oneroster.sync.failed")).ShouldBe(1);
    }

    [Fact]
    public async Task ServerErrors_AreRetried_ThenTheSyncSucceeds()
    {
        await using var host = await HomeroomHost.StartAsync(provider, Settings);
        var builder = new OneRosterSetBuilder(seed: 3) { Students = 30, Teachers = 3, Classes = 6, Guardians = 0 };
        await using var fake = await FakeOneRosterServer.StartAsync("1.1", builder.Build());
        await SaveAsync(host, fake, apply: true);
        fake.FailNext(2);

        var run = await SyncAsync(host);
        run.GetProperty("state").GetString().ShouldBe("applied", run.ToString());
        fake.ServerErrorsSent.ShouldBe(2);
        (await CountsAsync(host)).People.ShouldBe(33);
    }

    [Fact]
    public async Task TooManyRequests_WaitsForRetryAfter_ButNotLongerThanAllowed()
    {
        await using var host = await HomeroomHost.StartAsync(provider, Settings);
        var builder = new OneRosterSetBuilder(seed: 3) { Version = "1.2", Students = 30, Teachers = 3, Classes = 6, Guardians = 0 };
        await using var fake = await FakeOneRosterServer.StartAsync("1.2", builder.Build());
        await SaveAsync(host, fake, apply: true);

        // Asked to wait an hour (more than RestMaxRetryWait): the sync fails at once rather than hold everything up.
        fake.ThrottleNext(1, 3600);
        var refused = await SyncAsync(host);
        refused.GetProperty("state").GetString().ShouldBe("failed", refused.ToString());
        refused.GetProperty("note").GetString().ShouldBe("The service answered 429 for orgs; gave up after 1 attempt(s).");
        (await CountsAsync(host)).People.ShouldBe(0);

        // Asked to wait a second, twice: it waits and goes on.
        fake.ThrottleNext(2, 1);
        var started = host.Clock.GetUtcNow();
        var run = await SyncAsync(host);
        run.GetProperty("state").GetString().ShouldBe("applied", run.ToString());
        (host.Clock.GetUtcNow() - started).ShouldBeGreaterThanOrEqualTo(TimeSpan.FromSeconds(2)); // both Retry-After waits were kept
        fake.ServerErrorsSent.ShouldBe(3);
        (await CountsAsync(host)).People.ShouldBe(33);
    }

    [Fact]
    public async Task ExpiredToken_IsRefused_AndTheClientGetsANewOneOnce()
    {
        await using var host = await HomeroomHost.StartAsync(provider, Settings);
        var builder = new OneRosterSetBuilder(seed: 4) { Version = "1.2", Students = 30, Teachers = 3, Classes = 6, Guardians = 0 };
        await using var fake = await FakeOneRosterServer.StartAsync("1.2", builder.Build());
        await SaveAsync(host, fake, apply: true);
        (await SyncAsync(host)).GetProperty("state").GetString().ShouldBe("applied");
        fake.TokensIssued.ShouldBe(1); // one token for the six collections

        fake.ExpireTokens();
        var run = await SyncAsync(host);
        run.GetProperty("state").GetString().ShouldBe("applied", run.ToString());
        fake.Refused.ShouldBe(1); // the expired token, once
        fake.TokensIssued.ShouldBe(2);
    }

    [Fact]
    public async Task ArchiveBrake_HoldsAnAutomaticSyncThatWouldArchiveTooMany_AtItsPreview()
    {
        await using var host = await HomeroomHost.StartAsync(provider, Settings);
        var builder = new OneRosterSetBuilder(seed: 6) { Students = 50, Teachers = 3, Classes = 6, Guardians = 0 };
        await using var fake = await FakeOneRosterServer.StartAsync("1.1", builder.Build());
        await SaveAsync(host, fake, apply: true);
        (await SyncAsync(host)).GetProperty("state").GetString().ShouldBe("applied");
        var before = await CountsAsync(host);

        // The SIS answers with most students gone (an outage, a bad export): 30 of 53 would be archived.
        static bool Gone(string user) => user.StartsWith("stu-", StringComparison.Ordinal) && int.Parse(user[4..], System.Globalization.CultureInfo.InvariantCulture) < 30;
        fake.Change("users", users => users.RemoveAll(u => Gone((string)u["sourcedId"]!)));
        fake.Change("enrollments", enrollments => enrollments.RemoveAll(e => Gone((string)e["user"]!["sourcedId"]!)));
        var run = await SyncAsync(host);
        run.GetProperty("state").GetString().ShouldBe("previewed", run.ToString());
        run.GetProperty("preview").GetProperty("students").GetProperty("archived").GetInt32().ShouldBe(30);
        run.GetProperty("note").GetString()!.ShouldContain("would archive 30 of 53 active roster people (56.6 %), more than the 10 % allowed");
        (await CountsAsync(host)).ShouldBe(before);

        // A person who checked can still apply it.
        using var apply = await host.Client.PostAsync(new Uri($"/api/roster/oneroster/imports/{run.GetProperty("id").GetGuid()}/apply", UriKind.Relative), null).WaitAsync(HomeroomHost.Timeout);
        apply.StatusCode.ShouldBe(HttpStatusCode.OK, await apply.Content.ReadAsStringAsync());
        (await CountsAsync(host)).ArchivedPeople.ShouldBe(30);
        await using var db = await host.GetService<IDbContextFactory<HomeroomDbContext>>().CreateDbContextAsync();
        (await db.AuditLog.CountAsync(a => a.Action == "oneroster.sync.held")).ShouldBe(1);
    }

    [Fact]
    public async Task PreviewOnlyConnection_StopsAtThePreview()
    {
        await using var host = await HomeroomHost.StartAsync(provider, Settings);
        var builder = new OneRosterSetBuilder(seed: 8) { Version = "1.2", Students = 20, Teachers = 2, Classes = 4, Guardians = 0 };
        await using var fake = await FakeOneRosterServer.StartAsync("1.2", builder.Build());
        await SaveAsync(host, fake, apply: false);

        var run = await SyncAsync(host);
        run.GetProperty("state").GetString().ShouldBe("previewed", run.ToString());
        run.GetProperty("preview").GetProperty("students").GetProperty("created").GetInt32().ShouldBe(20);
        (await CountsAsync(host)).ShouldBe(new Counts(0, 0, 0, 0, 0, 0));
    }

    [Fact]
    public async Task Schedule_RunsTheSyncWhenItIsDue()
    {
        await using var host = await HomeroomHost.StartAsync(provider, Settings);
        var builder = new OneRosterSetBuilder(seed: 2) { Version = "1.2", Students = 20, Teachers = 2, Classes = 4, Guardians = 0 };
        await using var fake = await FakeOneRosterServer.StartAsync("1.2", builder.Build());
        fake.Clock = host.Clock;
        var saved = await SaveAsync(host, fake, apply: true, scheduleHours: 6);
        var next = saved.GetProperty("nextSyncAt").GetDateTime();
        next.ShouldBe(host.Clock.GetUtcNow().UtcDateTime.AddHours(6), TimeSpan.FromMinutes(1));

        // Not due: the schedule (checking every second) has read the connection and left it; no request reached the service.
        var checkedBefore = fake.Requests;
        host.Clock.Advance(TimeSpan.FromHours(5));
        await Task.Delay(TimeSpan.FromSeconds(2.5)); // two checks of the schedule; a due sync would have started within one
        fake.Requests.ShouldBe(checkedBefore);

        host.Clock.Advance(TimeSpan.FromHours(1.1));
        await Poll.UntilAsync(async () => (await CountsAsync(host)).People == 22, TimeSpan.FromSeconds(30));
        var history = await host.GetJsonAsync<JsonElement>("/api/roster/oneroster/imports");
        var run = history.EnumerateArray().Single();
        run.GetProperty("createdBy").GetString().ShouldBe("schedule");
        run.GetProperty("source").GetString().ShouldBe("rest");
        await Poll.UntilAsync(async () => (await host.GetJsonAsync<JsonElement>(Connection)).GetProperty("lastImportId").ValueKind == JsonValueKind.String);
        var after = await host.GetJsonAsync<JsonElement>(Connection);
        after.GetProperty("nextSyncAt").GetDateTime().ShouldBe(host.Clock.GetUtcNow().UtcDateTime.AddHours(6), TimeSpan.FromMinutes(1));
        await using var db = await host.GetService<IDbContextFactory<HomeroomDbContext>>().CreateDbContextAsync();
        (await db.AuditLog.SingleAsync(a => a.Action == "oneroster.sync")).ActorName.ShouldBe("schedule");
    }

    [Fact]
    public async Task Secret_IsNeverAnswered_NorStoredInPlainText()
    {
        await using var host = await HomeroomHost.StartAsync(provider, Settings);
        await using var fake = await FakeOneRosterServer.StartAsync("1.1", new OneRosterSetBuilder(seed: 1) { Students = 2, Teachers = 1, Classes = 1, Guardians = 0 }.Build());
        var saved = await SaveAsync(host, fake, apply: false);
        saved.GetProperty("clientSecret").GetString().ShouldBe("set");
        saved.ToString().ShouldNotContain(FakeOneRosterServer.Secret);
        var read = await host.Client.GetStringAsync(new Uri(Connection, UriKind.Relative)).WaitAsync(HomeroomHost.Timeout);
        read.ShouldNotContain(FakeOneRosterServer.Secret);
        read.ShouldContain("\"clientSecret\":\"set\"");

        await using (var db = await host.GetService<IDbContextFactory<HomeroomDbContext>>().CreateDbContextAsync())
        {
            var stored = await db.Database.SqlQueryRaw<string>("SELECT protected_secret AS \"Value\" FROM oneroster_connections").SingleAsync();
            stored.ShouldNotContain(FakeOneRosterServer.Secret);
            stored.Length.ShouldBeGreaterThan(FakeOneRosterServer.Secret.Length);
            (await db.AuditLog.Where(a => a.Details != null).Select(a => a.Details!).ToListAsync()).ShouldAllBe(d => !d.Contains(FakeOneRosterServer.Secret));
        }

        // Saved again without a secret: the stored one stays and still works.
        using var put = await host.Client.PutAsJsonAsync(new Uri(Connection, UriKind.Relative), Request(fake, apply: false, secret: null)).WaitAsync(HomeroomHost.Timeout);
        put.StatusCode.ShouldBe(HttpStatusCode.OK);
        using var test = await host.Client.PostAsync(new Uri(Connection + "/test", UriKind.Relative), null).WaitAsync(HomeroomHost.Timeout);
        var result = JsonDocument.Parse(await test.Content.ReadAsStringAsync()).RootElement;
        result.GetProperty("ok").GetBoolean().ShouldBeTrue(result.ToString());
        result.GetProperty("orgs").GetInt32().ShouldBe(4); // the district and its three schools
    }

    [Fact]
    public async Task BadConnections_AreRefusedWithTheirFields_AndATestReportsAWrongSecret()
    {
        await using var host = await HomeroomHost.StartAsync(provider, Settings);
        await using var fake = await FakeOneRosterServer.StartAsync("1.2", new OneRosterSetBuilder(seed: 1) { Version = "1.2", Students = 2, Teachers = 1, Classes = 1, Guardians = 0 }.Build());

        using (var none = await host.Client.PostAsync(new Uri(Sync, UriKind.Relative), null).WaitAsync(HomeroomHost.Timeout))
        {
            none.StatusCode.ShouldBe(HttpStatusCode.Conflict); // nothing saved yet
        }

        foreach (var (body, field) in new (object Body, string Field)[]
        {
            (new { baseUrl = "http://sis.example.org", version = "1.1", clientId = "k", clientSecret = "s" }, "baseUrl"),
            (new { baseUrl = "https://sis.example.org/?x=1", version = "1.1", clientId = "k", clientSecret = "s" }, "baseUrl"),
            (new { baseUrl = "https://sis.example.org", version = "2.0", clientId = "k", clientSecret = "s" }, "version"),
            (new { baseUrl = "https://sis.example.org", version = "1.1", clientId = "", clientSecret = "s" }, "clientId"),
            (new { baseUrl = "https://sis.example.org", version = "1.1", clientId = "k" }, "clientSecret"),
            (new { baseUrl = "https://sis.example.org", version = "1.2", clientId = "k", clientSecret = "s" }, "tokenUrl"),
            (new { baseUrl = "https://sis.example.org", version = "1.1", clientId = "k", clientSecret = "s", scheduleHours = -1 }, "scheduleHours"),
            (new { baseUrl = "https://sis.example.org", version = "1.1", clientId = new string('k', 600), clientSecret = "s" }, "clientId"),
        })
        {
            using var response = await host.Client.PutAsJsonAsync(new Uri(Connection, UriKind.Relative), body).WaitAsync(HomeroomHost.Timeout);
            response.StatusCode.ShouldBe(HttpStatusCode.BadRequest, field);
            JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("errors").TryGetProperty(field, out _).ShouldBeTrue(field);
        }

        using (var huge = await host.Client.PutAsync(new Uri(Connection, UriKind.Relative), new StringContent($"{{\"baseUrl\":\"{new string('a', 20_000)}\"}}", System.Text.Encoding.UTF8, "application/json")).WaitAsync(HomeroomHost.Timeout))
        {
            huge.StatusCode.ShouldBe(HttpStatusCode.RequestEntityTooLarge);
        }

        (await host.GetJsonAsync<JsonElement>(Connection)).GetProperty("configured").GetBoolean().ShouldBeFalse();

        await SaveAsync(host, fake, apply: false, secret: "wrong");
        using var test = await host.Client.PostAsync(new Uri(Connection + "/test", UriKind.Relative), null).WaitAsync(HomeroomHost.Timeout);
        var result = JsonDocument.Parse(await test.Content.ReadAsStringAsync()).RootElement;
        result.GetProperty("ok").GetBoolean().ShouldBeFalse();
        result.GetProperty("error").GetString()!.ShouldContain("refused the client id and secret");
    }

    private static object Request(FakeOneRosterServer fake, bool apply, string? secret = FakeOneRosterServer.Secret, int? scheduleHours = null) => new
    {
        baseUrl = fake.BaseUrl.ToString(),
        version = fake.Version,
        clientId = FakeOneRosterServer.ClientId,
        clientSecret = secret,
        tokenUrl = fake.Version == "1.2" ? fake.TokenUrl : null,
        scope = fake.Version == "1.2" ? FakeOneRosterServer.Scope : null,
        scheduleHours,
        applyAutomatically = apply,
    };

    private static async Task<JsonElement> SaveAsync(HomeroomHost host, FakeOneRosterServer fake, bool apply, string secret = FakeOneRosterServer.Secret, int? scheduleHours = null)
    {
        using var response = await host.Client.PutAsJsonAsync(new Uri(Connection, UriKind.Relative), Request(fake, apply, secret, scheduleHours)).WaitAsync(HomeroomHost.Timeout);
        var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.Clone();
        response.StatusCode.ShouldBe(HttpStatusCode.OK, body.ToString());
        return body;
    }

    private static async Task<JsonElement> SyncAsync(HomeroomHost host)
    {
        using var response = await host.Client.PostAsync(new Uri(Sync, UriKind.Relative), null).WaitAsync(TimeSpan.FromSeconds(90));
        var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.Clone();
        response.StatusCode.ShouldBe(HttpStatusCode.OK, body.ToString());
        return body;
    }

    private static async Task<Counts> CountsAsync(HomeroomHost host)
    {
        await using var db = await host.GetService<IDbContextFactory<HomeroomDbContext>>().CreateDbContextAsync();
        return new Counts(
            await db.Schools.CountAsync(s => s.SourcedId != null),
            await db.People.CountAsync(p => p.SourcedId != null),
            await db.People.CountAsync(p => p.SourcedId != null && p.ArchivedAt != null),
            await db.Groups.CountAsync(g => g.SourcedId != null),
            await db.Groups.CountAsync(g => g.SourcedId != null && g.ArchivedAt != null),
            await db.GroupMembers.CountAsync(m => db.Groups.Any(g => g.Id == m.GroupId && g.SourcedId != null)));
    }
}

/// <summary>
/// The fake service's OAuth 1.0a checks, with requests signed by the server's <see cref="OAuth1Signature"/>:
/// a correct signature passes (so client and fake, written apart, agree on RFC 5849), a changed one, a stale
/// timestamp and a nonce used twice do not.
/// </summary>
public sealed class FakeOneRosterServerTests
{
    [Fact]
    public async Task OAuth1_RefusesABadSignatureAStaleTimestampAndAReplayedNonce()
    {
        await using var fake = await FakeOneRosterServer.StartAsync("1.1", new OneRosterSetBuilder(seed: 1) { Students = 2, Teachers = 1, Classes = 1, Guardians = 0 }.Build());
        using var client = new HttpClient();
        var uri = new Uri(fake.BaseUrl, "ims/oneroster/v1p1/users?limit=1&offset=0&filter=role%3D%27student%27");
        var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();

        async Task<HttpStatusCode> GetAsync(string authorization)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, uri);
            request.Headers.TryAddWithoutValidation("Authorization", "OAuth " + authorization);
            using var response = await client.SendAsync(request).WaitAsync(HomeroomHost.Timeout);
            return response.StatusCode;
        }

        var good = OAuth1Signature.Header("GET", uri, FakeOneRosterServer.ClientId, FakeOneRosterServer.Secret, "nonce-1", now);
        (await GetAsync(good)).ShouldBe(HttpStatusCode.OK);
        (await GetAsync(good)).ShouldBe(HttpStatusCode.Unauthorized); // the same nonce again
        (await GetAsync(OAuth1Signature.Header("GET", uri, FakeOneRosterServer.ClientId, "another-secret", "nonce-2", now))).ShouldBe(HttpStatusCode.Unauthorized);
        (await GetAsync(OAuth1Signature.Header("GET", uri, FakeOneRosterServer.ClientId, FakeOneRosterServer.Secret, "nonce-3", now - 3600))).ShouldBe(HttpStatusCode.Unauthorized);
        var otherQuery = new Uri(fake.BaseUrl, "ims/oneroster/v1p1/users?limit=2&offset=0&filter=role%3D%27student%27");
        (await GetAsync(OAuth1Signature.Header("GET", otherQuery, FakeOneRosterServer.ClientId, FakeOneRosterServer.Secret, "nonce-4", now))).ShouldBe(HttpStatusCode.Unauthorized);
        (await GetAsync(OAuth1Signature.Header("GET", uri, FakeOneRosterServer.ClientId, FakeOneRosterServer.Secret, "nonce-5", now))).ShouldBe(HttpStatusCode.OK);
        fake.Refused.ShouldBe(4);
    }

    [Fact]
    public void OAuth1Signature_EncodesAsRfc5849Says()
    {
        OAuth1Signature.Encode("a b+c~d*é").ShouldBe("a%20b%2Bc~d%2A%C3%A9");
        OAuth1Signature.BaseUri(new Uri("HTTPS://Sis.Example.ORG:443/ims/oneroster/v1p1/users?limit=5")).ShouldBe("https://sis.example.org/ims/oneroster/v1p1/users");
        OAuth1Signature.BaseUri(new Uri("http://127.0.0.1:8080/x")).ShouldBe("http://127.0.0.1:8080/x");
    }
}

public sealed class OneRosterSyncSqliteTests() : OneRosterSyncTests(DatabaseProvider.Sqlite);

public sealed class OneRosterSyncPostgresTests() : OneRosterSyncTests(DatabaseProvider.Postgres);
