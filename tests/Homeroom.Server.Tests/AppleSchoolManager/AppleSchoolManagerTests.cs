using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Security.Cryptography.Pkcs;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json;
using Homeroom.Contracts.Apple;
using Homeroom.Server.AppleSchoolManager;
using Homeroom.Server.Apps;
using Homeroom.Server.Data;
using Homeroom.Server.Tests.Infrastructure;
using Homeroom.Simulator.Apple;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Hosting;

namespace Homeroom.Server.Tests.AppleSchoolManager;

/// <summary>
/// Apple School Manager against a fake Apple on loopback: the server token (its S/MIME file decrypted
/// with this server's key, stored encrypted, never returned, refused when expired or not a token), the
/// device fetch with pagination then sync, the enrollment profile defined and assigned, every failure
/// Apple may answer (429 and 503 with Retry-After, malformed JSON, an expired cursor, an expired
/// session) without losing work, an ADE device enrolling supervised, and Apps and Books licences.
/// </summary>
public abstract class AppleSchoolManagerTests(DatabaseProvider provider) : IAsyncLifetime
{
    private FakeAppleSchoolManager _apple = null!;
    private HomeroomHost _host = null!;

    public async Task InitializeAsync()
    {
        _apple = await FakeAppleSchoolManager.StartAsync();
        // App status passes only when a test runs one (or an assignment nudges), never from the clock a test advances.
        _host = await HomeroomHost.StartWithDeviceCaAsync(provider, [.. _apple.Settings, "Homeroom:Apps:ReconcileInterval=01:00:00"]);
        // The schedule's start-up pass (no token yet) ends before a test uploads one and syncs, or it could take the first fetch.
        await _host.GetService<IEnumerable<IHostedService>>().OfType<AppleSchoolManagerSchedule>().Single().FirstPass.WaitAsync(HomeroomHost.Timeout);
    }

    public async Task DisposeAsync()
    {
        await _host.DisposeAsync();
        await _apple.DisposeAsync();
    }

    private static readonly DateTime NextYear = DateTime.UtcNow.AddYears(1);

    private async Task<HttpResponseMessage> PutAsync(string path, string body, HttpClient? client = null) =>
        await (client ?? _host.Client).PutAsync(new Uri(path, UriKind.Relative), new StringContent(body, Encoding.UTF8, "application/octet-stream")).WaitAsync(HomeroomHost.Timeout);

    private async Task UploadServerTokenAsync()
    {
        using var response = await PutAsync("/api/apple/school-manager/server-token", _apple.ServerTokenMessage(NextYear));
        response.StatusCode.ShouldBe(HttpStatusCode.OK, await response.Content.ReadAsStringAsync());
    }

    private async Task<JsonElement> SyncAsync()
    {
        using var response = await _host.Client.PostAsync(new Uri("/api/apple/school-manager/sync", UriKind.Relative), null).WaitAsync(TimeSpan.FromSeconds(60));
        response.StatusCode.ShouldBe(HttpStatusCode.OK, await response.Content.ReadAsStringAsync());
        return await response.Content.ReadFromJsonAsync<JsonElement>();
    }

    private async Task<List<AdeDevice>> StoredAsync()
    {
        await using var db = await _host.GetService<IDbContextFactory<HomeroomDbContext>>().CreateDbContextAsync();
        return await db.Set<AdeDevice>().AsNoTracking().OrderBy(d => d.Serial).ToListAsync();
    }

    private List<string> CallsTo(string path) => _apple.Calls.Where(c => c.Path.StartsWith(path, StringComparison.Ordinal)).Select(c => c.Body ?? "").ToList();

    [Fact]
    public async Task ServerToken_SmimeFileEncryptedToThisServersKey_IsStoredEncryptedAndNeverReturned()
    {
        var pem = await _host.Client.GetStringAsync(new Uri("/api/apple/school-manager/public-key", UriKind.Relative));
        using var certificate = X509Certificate2.CreateFromPem(pem);

        // What Apple School Manager gives: S/MIME enveloped data to the uploaded key, holding the message.
        var inner = Encoding.UTF8.GetBytes("Content-Type: text/plain;charset=UTF-8\r\nContent-Transfer-Encoding: 7bit\r\n\r\n" + _apple.ServerTokenMessage(NextYear));
        var envelope = new EnvelopedCms(new ContentInfo(inner));
        envelope.Encrypt(new CmsRecipient(certificate));
        var p7m = "Content-Type: application/pkcs7-mime; name=smime.p7m; smime-type=enveloped-data\r\nContent-Transfer-Encoding: base64\r\n"
            + "Content-Disposition: attachment; filename=smime.p7m\r\n\r\n" + Convert.ToBase64String(envelope.Encode(), Base64FormattingOptions.InsertLineBreaks);

        using var uploaded = await PutAsync("/api/apple/school-manager/server-token", p7m);
        var text = await uploaded.Content.ReadAsStringAsync();
        uploaded.StatusCode.ShouldBe(HttpStatusCode.OK, text);
        var status = JsonDocument.Parse(text).RootElement;
        status.GetProperty("serverTokenUploaded").GetBoolean().ShouldBeTrue();
        status.GetProperty("serverTokenExpiresAt").GetDateTime().Date.ShouldBe(NextYear.Date);
        text.ShouldNotContain(_apple.ConsumerSecret);
        text.ShouldNotContain(_apple.AccessSecret);

        await using var db = await _host.GetService<IDbContextFactory<HomeroomDbContext>>().CreateDbContextAsync();
        var stored = await db.Set<AsmSettings>().AsNoTracking().SingleAsync();
        stored.ServerToken!.ShouldNotContain(_apple.ConsumerSecret);
        stored.ServerToken!.ShouldNotContain(_apple.AccessToken);
        (await db.AuditLog.AnyAsync(a => a.Action == "apple-school-manager.server-token")).ShouldBeTrue();

        // The token works: Apple gives a session for its OAuth signature.
        _apple.AddDevices(1);
        (await SyncAsync()).GetProperty("devices").GetProperty("error").ValueKind.ShouldBe(JsonValueKind.Null);
        _apple.SessionsIssued.ShouldBe(1);
    }

    [Fact]
    public async Task ServerToken_ExpiredGarbageOrTooLarge_IsRefusedWithProblemDetails()
    {
        using var expired = await PutAsync("/api/apple/school-manager/server-token", _apple.ServerTokenMessage(DateTime.UtcNow.AddDays(-1)));
        expired.StatusCode.ShouldBe(HttpStatusCode.BadRequest);
        expired.Content.Headers.ContentType!.MediaType.ShouldBe("application/problem+json");
        (await expired.Content.ReadAsStringAsync()).ShouldContain("expired");

        using var garbage = await PutAsync("/api/apple/school-manager/server-token", "hello");
        garbage.StatusCode.ShouldBe(HttpStatusCode.BadRequest);

        using var missing = await PutAsync("/api/apple/school-manager/server-token", "-----BEGIN MESSAGE-----\n{\"consumer_key\":\"x\"}\n-----END MESSAGE-----");
        missing.StatusCode.ShouldBe(HttpStatusCode.BadRequest);

        // On its own connection: the server answers before reading the body and may then close that
        // connection, which a request reusing it would see as a response that ended prematurely.
        using var once = _host.CreateClient(HomeroomHost.ApiKey);
        using var large = await PutAsync("/api/apple/school-manager/server-token", new string('a', 70 * 1024), once);
        large.StatusCode.ShouldBe(HttpStatusCode.RequestEntityTooLarge);

        using var content = await PutAsync("/api/apple/school-manager/content-token", "bm90IGpzb24=");
        content.StatusCode.ShouldBe(HttpStatusCode.BadRequest);

        var status = await _host.GetJsonAsync<JsonElement>("/api/apple/school-manager");
        status.GetProperty("serverTokenUploaded").GetBoolean().ShouldBeFalse();

        using var schoolAdmin = await _host.SignInAsNewAccountAsync("asm-sa-" + Guid.NewGuid().ToString("N")[..8], "schoolAdmin");
        using var refused = await PutAsync("/api/apple/school-manager/server-token", _apple.ServerTokenMessage(NextYear), schoolAdmin);
        refused.StatusCode.ShouldBe(HttpStatusCode.Forbidden);
    }

    [Fact]
    public async Task Sync_FetchesEveryPage_ThenSyncsChanges_AndAssignsTheSupervisedProfile()
    {
        _apple.AddDevices(250);
        await UploadServerTokenAsync();

        var first = (await SyncAsync()).GetProperty("devices");
        first.GetProperty("fullFetch").GetBoolean().ShouldBeTrue();
        first.GetProperty("pages").GetInt32().ShouldBe(3);
        first.GetProperty("added").GetInt32().ShouldBe(250);
        first.GetProperty("assigned").GetInt32().ShouldBe(250);

        var profile = _apple.ProfilesDefined.ShouldHaveSingleItem();
        profile["url"]!.GetValue<string>().ShouldBe("https://homeroom.seeds.example/mdm/ade/enroll");
        profile["is_supervised"]!.GetValue<bool>().ShouldBeTrue();
        profile["is_mandatory"]!.GetValue<bool>().ShouldBeTrue();
        profile["await_device_configured"]!.GetValue<bool>().ShouldBeFalse();
        profile["department"]!.GetValue<string>().ShouldBe("Seeds IT");
        profile["support_phone_number"]!.GetValue<string>().ShouldBe("+1 555 0100");
        profile["skip_setup_items"]!.AsArray().Select(n => n!.GetValue<string>()).ShouldContain("AppleID");

        var stored = await StoredAsync();
        stored.Count.ShouldBe(250);
        stored.ShouldAllBe(d => d.ProfileStatus == "assigned" && d.ProfileUuid == "PROFILE0001" && d.Model == "iPad (10th generation)");
        _apple.Devices.ShouldAllBe(d => d.ProfileUuid == "PROFILE0001");

        // Later: one device added, one removed at Apple, one assigned to another MDM server; a sync, not a fetch.
        _apple.Change("NEW000001", "added");
        _apple.Change("DMP000007", "deleted");
        _apple.Change("FOREIGN01", "added");
        _apple.Foreign.Add("FOREIGN01");
        var fetches = CallsTo("/server/devices").Count;
        var second = (await SyncAsync()).GetProperty("devices");
        second.GetProperty("fullFetch").GetBoolean().ShouldBeFalse();
        second.GetProperty("added").GetInt32().ShouldBe(2);
        second.GetProperty("deleted").GetInt32().ShouldBe(1);
        second.GetProperty("assigned").GetInt32().ShouldBe(1);
        second.GetProperty("assignFailed").GetInt32().ShouldBe(1);
        CallsTo("/server/devices").Count.ShouldBe(fetches);
        _apple.ProfilesDefined.Count.ShouldBe(1); // unchanged settings: the same profile

        stored = await StoredAsync();
        stored.Single(d => d.Serial == "NEW000001").ProfileUuid.ShouldBe("PROFILE0001");
        stored.Single(d => d.Serial == "DMP000007").OpType.ShouldBe("deleted");
        stored.Single(d => d.Serial == "FOREIGN01").AssignError.ShouldBe("NOT_ACCESSIBLE");

        var list = await _host.GetJsonAsync<JsonElement>("/api/apple/school-manager/devices?search=NEW0");
        list.GetArrayLength().ShouldBe(1);
        list[0].GetProperty("hasHomeroomProfile").GetBoolean().ShouldBeTrue();
        var status = await _host.GetJsonAsync<JsonElement>("/api/apple/school-manager");
        status.GetProperty("devices").GetInt32().ShouldBe(251);
        status.GetProperty("devicesWithProfile").GetInt32().ShouldBe(250);
    }

    [Fact]
    public async Task Sync_RateLimitedPartWay_KeepsEveryStoredPage_AndGoesOnFromItsCursor()
    {
        _apple.AddDevices(250);
        await UploadServerTokenAsync();
        // The second page: 429 asking for two minutes, longer than one run may wait: it stops there.
        _apple.Fail("/server/devices", 429, retryAfterSeconds: 120, after: 1);
        var stopped = (await SyncAsync()).GetProperty("devices");
        stopped.GetProperty("error").GetString()!.ShouldContain("429");
        stopped.GetProperty("pages").GetInt32().ShouldBe(1);
        (await StoredAsync()).Count.ShouldBe(100);
        (await _host.GetJsonAsync<JsonElement>("/api/apple/school-manager")).GetProperty("lastSyncError").GetString()!.ShouldContain("busy");

        // The next run asks for page two with the stored cursor (nothing fetched twice) and finishes.
        var calls = CallsTo("/server/devices").Count;
        var resumed = (await SyncAsync()).GetProperty("devices");
        resumed.GetProperty("error").ValueKind.ShouldBe(JsonValueKind.Null);
        CallsTo("/server/devices").Skip(calls).First().ShouldContain("\"f:100\"");
        (await StoredAsync()).Count.ShouldBe(250);

        // 503 with a short Retry-After is waited out inside one run.
        _apple.Change("LATE00001", "added");
        _apple.Fail("/devices/sync", 503, times: 1, retryAfterSeconds: 1);
        var waited = (await SyncAsync()).GetProperty("devices");
        waited.GetProperty("error").ValueKind.ShouldBe(JsonValueKind.Null);
        waited.GetProperty("added").GetInt32().ShouldBe(1);
    }

    [Fact]
    public async Task Sync_ExpiredCursor_StartsAgainWithAFullFetch()
    {
        _apple.AddDevices(120);
        await UploadServerTokenAsync();
        await SyncAsync();
        var fetches = CallsTo("/server/devices").Count;

        _apple.CursorsExpired = true;
        var again = (await SyncAsync()).GetProperty("devices");
        again.GetProperty("fullFetch").GetBoolean().ShouldBeTrue();
        again.GetProperty("error").ValueKind.ShouldBe(JsonValueKind.Null);
        CallsTo("/server/devices").Count.ShouldBe(fetches + 2);
        (await StoredAsync()).Count.ShouldBe(120);
    }

    [Fact]
    public async Task Sync_ExpiredSession_GetsANewSession_AndMalformedAnswerStopsUntilTheNextRun()
    {
        _apple.AddDevices(10);
        await UploadServerTokenAsync();
        await SyncAsync();
        _apple.SessionsIssued.ShouldBe(1);

        _apple.ExpireSessions();
        _apple.Change("NEXT00001", "added");
        var renewed = (await SyncAsync()).GetProperty("devices");
        renewed.GetProperty("error").ValueKind.ShouldBe(JsonValueKind.Null);
        _apple.SessionsIssued.ShouldBe(2);
        (await StoredAsync()).Count.ShouldBe(11);

        _apple.Change("NEXT00002", "added");
        _apple.Fail("/devices/sync", 200, body: "{\"devices\": [ {\"serial_number\": ");
        var malformed = (await SyncAsync()).GetProperty("devices");
        malformed.GetProperty("error").GetString()!.ShouldContain("not the JSON");
        (await StoredAsync()).Count.ShouldBe(11);

        var recovered = (await SyncAsync()).GetProperty("devices");
        recovered.GetProperty("error").ValueKind.ShouldBe(JsonValueKind.Null);
        (await StoredAsync()).Select(d => d.Serial).ShouldContain("NEXT00002");
    }

    private static byte[] SignedDeviceInformation(string serial, string udid)
    {
        using var key = RSA.Create(2048);
        using var certificate = new CertificateRequest("CN=Apple iPhone Device CA test " + udid, key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1)
            .CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddYears(1));
        var plist = PropertyList.WriteXml(new Dictionary<string, object>
        {
            ["SERIAL"] = serial, ["UDID"] = udid, ["PRODUCT"] = "iPad13,18", ["VERSION"] = "22B83", ["LANGUAGE"] = "en-US",
        });
        var signed = new SignedCms(new ContentInfo(plist), detached: false);
        signed.ComputeSignature(new CmsSigner(certificate));
        return signed.Encode();
    }

    private async Task<HttpResponseMessage> AdeEnrollAsync(byte[] body)
    {
        using var anonymous = _host.CreateClient();
        var content = new ByteArrayContent(body);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/pkcs7-signature");
        return await anonymous.PostAsync(new Uri("/mdm/ade/enroll", UriKind.Relative), content).WaitAsync(HomeroomHost.Timeout);
    }

    [Fact]
    public async Task AdeEnrollment_AnAssignedSerial_GetsTheEnrollmentProfile_AndEnrollsSupervised()
    {
        _apple.AddDevices(3);
        await UploadServerTokenAsync();
        await SyncAsync();
        const string udid = "00008030-0001A2D3E0C38802E";

        using (var unknown = await AdeEnrollAsync(SignedDeviceInformation("NOTMINE01", udid)))
        {
            unknown.StatusCode.ShouldBe(HttpStatusCode.Forbidden);
        }

        using (var unsigned = await AdeEnrollAsync(Encoding.UTF8.GetBytes("<plist><dict><key>SERIAL</key><string>DMP000001</string></dict></plist>")))
        {
            unsigned.StatusCode.ShouldBe(HttpStatusCode.BadRequest);
        }

        using var response = await AdeEnrollAsync(SignedDeviceInformation("DMP000001", udid));
        response.StatusCode.ShouldBe(HttpStatusCode.OK, await response.Content.ReadAsStringAsync());
        response.Content.Headers.ContentType!.MediaType.ShouldBe("application/x-apple-aspen-config");
        var profile = PropertyList.ReadDictionary(await response.Content.ReadAsByteArrayAsync());
        var payloads = ((List<object>)profile["PayloadContent"]).Cast<Dictionary<string, object>>().ToList();
        payloads.Select(p => (string)p["PayloadType"]).Order(StringComparer.Ordinal).ShouldBe(["com.apple.mdm", "com.apple.security.pkcs12"]);
        var pkcs12 = payloads.Single(p => (string)p["PayloadType"] == "com.apple.security.pkcs12");
        var mdm = payloads.Single(p => (string)p["PayloadType"] == "com.apple.mdm");
        ((string)mdm["ServerURL"]).ShouldBe("https://homeroom.seeds.example/mdm/connect");

        // The device installs it and checks in through its check-in URL: enrolled, and supervised.
        using var device = new VirtualAppleDevice(_host.Client, _host.BaseAddress, udid, "DMP000001");
        device.Identity = X509CertificateLoader.LoadPkcs12((byte[])pkcs12["PayloadContent"], (string)pkcs12["Password"], X509KeyStorageFlags.Exportable);
        using var authenticate = await device.AuthenticateAsync(null, new Uri((string)mdm["CheckInURL"]).PathAndQuery);
        authenticate.StatusCode.ShouldBe(HttpStatusCode.OK, await authenticate.Content.ReadAsStringAsync());
        await using var db = await _host.GetService<IDbContextFactory<HomeroomDbContext>>().CreateDbContextAsync();
        var enrolled = await db.AppleDevices.AsNoTracking().SingleAsync(a => a.Udid == udid);
        enrolled.Supervised.ShouldBeTrue();
        (await db.Devices.AsNoTracking().SingleAsync(d => d.Id == enrolled.DeviceId)).Serial.ShouldBe("DMP000001");
    }

    private async Task<Guid> CatalogAppAsync(string adamId, int? licences)
    {
        var created = await _host.PostJsonAsync<JsonElement>("/api/apps", new
        {
            name = "Paid app " + adamId, category = "education", appleAdamId = adamId, appleBundleId = "org.example.app" + adamId, licensesPurchased = licences,
        });
        return created.GetProperty("id").GetGuid();
    }

    [Fact]
    public async Task AppsAndBooks_LicenceCountsReachTheCatalog_AndAssignmentsMapApplesAnswers()
    {
        _apple.Assets["361309726"] = new FakeAppleSchoolManager.Asset { AdamId = "361309726", Total = 2 };
        _apple.Assets["408709785"] = new FakeAppleSchoolManager.Asset { AdamId = "408709785", Total = 40 };
        _apple.Assets["500000001"] = new FakeAppleSchoolManager.Asset { AdamId = "500000001", Total = 5 };
        var app = await CatalogAppAsync("361309726", 10);
        var other = await CatalogAppAsync("500000001", null);

        var licences = _host.GetService<IVolumePurchaseLicences>();
        licences.AssignedByApple.ShouldBeFalse();
        (await licences.AssignAsync("361309726", "DMP000001", CancellationToken.None)).Outcome.ShouldBe(VolumeLicenceOutcome.Done);
        _apple.Assets["361309726"].Serials.ShouldBeEmpty(); // no content token: counted locally only

        var file = _apple.ContentTokenFile(NextYear);
        _apple.AcceptContentToken(file);
        using (var uploaded = await PutAsync("/api/apple/school-manager/content-token", file))
        {
            var text = await uploaded.Content.ReadAsStringAsync();
            uploaded.StatusCode.ShouldBe(HttpStatusCode.OK, text);
            text.ShouldNotContain(_apple.ContentTokenSecret);
        }

        licences.AssignedByApple.ShouldBeTrue();
        var synced = await SyncAsync();
        synced.GetProperty("licencesUpdated").GetInt32().ShouldBe(2);
        (await _host.GetJsonAsync<JsonElement>($"/api/apps/{app}")).GetProperty("licensesPurchased").GetInt32().ShouldBe(2);
        (await _host.GetJsonAsync<JsonElement>($"/api/apps/{other}")).GetProperty("licensesPurchased").GetInt32().ShouldBe(5);
        await using (var db = await _host.GetService<IDbContextFactory<HomeroomDbContext>>().CreateDbContextAsync())
        {
            (await db.AuditLog.CountAsync(a => a.Action == "app.update" && a.ActorName == "Apple School Manager")).ShouldBe(2);
        }

        (await licences.AssignAsync("361309726", "DMP000001", CancellationToken.None)).Outcome.ShouldBe(VolumeLicenceOutcome.Done);
        (await licences.AssignAsync("361309726", "DMP000002", CancellationToken.None)).Outcome.ShouldBe(VolumeLicenceOutcome.Done);
        _apple.Assets["361309726"].Serials.Order(StringComparer.Ordinal).ShouldBe(["DMP000001", "DMP000002"]);

        var shortage = await licences.AssignAsync("361309726", "DMP000003", CancellationToken.None);
        shortage.Outcome.ShouldBe(VolumeLicenceOutcome.NoLicence);
        shortage.Reason!.ShouldContain("Insufficient");

        _apple.UnknownSerials.Add("GHOST0001");
        (await licences.AssignAsync("408709785", "GHOST0001", CancellationToken.None)).Outcome.ShouldBe(VolumeLicenceOutcome.Failed);
        (await licences.AssignAsync("999999999", "DMP000001", CancellationToken.None)).Outcome.ShouldBe(VolumeLicenceOutcome.Failed);

        _apple.Fail("/vpp/assets/associate", 429, retryAfterSeconds: 600);
        (await licences.AssignAsync("408709785", "DMP000004", CancellationToken.None)).Outcome.ShouldBe(VolumeLicenceOutcome.RetryLater);
        _apple.Assets["408709785"].Serials.ShouldBeEmpty();

        (await licences.ReleaseAsync("361309726", "DMP000001", CancellationToken.None)).Outcome.ShouldBe(VolumeLicenceOutcome.Done);
        (await licences.AssignAsync("361309726", "DMP000003", CancellationToken.None)).Outcome.ShouldBe(VolumeLicenceOutcome.Done);
    }

    [Fact]
    public async Task AppsAndBooks_RateLimitedMalformedOrFailed_NoInstallNoLicenceNothingLost_ALaterPassInstalls_DeletingReleases()
    {
        const string AdamId = "361309726";
        _apple.Assets[AdamId] = new FakeAppleSchoolManager.Asset { AdamId = AdamId, Total = 2 };
        var file = _apple.ContentTokenFile(NextYear);
        _apple.AcceptContentToken(file);
        using (var uploaded = await PutAsync("/api/apple/school-manager/content-token", file))
        {
            uploaded.StatusCode.ShouldBe(HttpStatusCode.OK, await uploaded.Content.ReadAsStringAsync());
        }

        using var ipad = new VirtualAppleDevice(_host.Client, _host.BaseAddress, "00008030-0031C2D3E0C38802E", "DMP000001", clock: _host.Clock, installDelay: TimeSpan.FromMinutes(1));
        ipad.AppStore[long.Parse(AdamId, System.Globalization.CultureInfo.InvariantCulture)] = ("org.example.app" + AdamId, "Paid app");
        await ipad.InstallEnrollmentProfileAsync(await _host.CreateTokenAsync());
        using (var authenticate = await ipad.AuthenticateAsync())
        {
            authenticate.StatusCode.ShouldBe(HttpStatusCode.OK);
        }

        using (var token = await ipad.TokenUpdateAsync())
        {
            token.StatusCode.ShouldBe(HttpStatusCode.OK);
        }

        var device = (await _host.GetJsonAsync<JsonElement>("/api/devices?q=DMP000001")).GetProperty("items")[0].GetProperty("id").GetGuid();
        await ipad.PollAsync();
        ipad.Received.Clear();

        var app = await CatalogAppAsync(AdamId, 2);
        var reconciler = _host.GetService<AppInstallReconciler>();

        // Rate-limited (429 with a Retry-After past the longest wait): pending, with Apple's words and a back-off.
        _apple.Fail("/vpp/assets/associate", 429, times: 10, retryAfterSeconds: 600);
        await _host.PostJsonAsync<JsonElement>($"/api/apps/{app}/assignments", new { intent = "required", level = "district" });
        await reconciler.ReconcileAllAsync();
        var status = await StatusAsync(device);
        status.GetProperty("state").GetString().ShouldBe("pending");
        status.GetProperty("reason").GetString()!.ShouldContain("try later");
        await NothingHappenedAsync(ipad, app, device, AdamId);
        var attempts = status.GetProperty("attempts").GetInt32();
        attempts.ShouldBeGreaterThanOrEqualTo(1);

        // Malformed (not JSON): the same, one attempt more.
        _apple.Reset("/vpp/assets/associate");
        _apple.Fail("/vpp/assets/associate", 200, times: 10, body: "<html>maintenance</html>");
        await PastTheBackOffAsync(device);
        await reconciler.ReconcileAllAsync();
        status = await StatusAsync(device);
        status.GetProperty("state").GetString().ShouldBe("pending");
        status.GetProperty("attempts").GetInt32().ShouldBe(attempts + 1);
        await NothingHappenedAsync(ipad, app, device, AdamId);

        // A failed association (Apple does not know the serial): failed with Apple's error, still nothing installed.
        _apple.Reset("/vpp/assets/associate");
        _apple.UnknownSerials.Add("DMP000001");
        await PastTheBackOffAsync(device);
        await reconciler.ReconcileAllAsync();
        status = await StatusAsync(device);
        status.GetProperty("state").GetString().ShouldBe("failed");
        status.GetProperty("reason").GetString()!.ShouldContain("9628");
        await NothingHappenedAsync(ipad, app, device, AdamId);

        // Apple answers again: the next pass past the back-off takes the licence, then installs. Nothing was lost.
        _apple.UnknownSerials.Remove("DMP000001");
        await PastTheBackOffAsync(device);
        (await reconciler.ReconcileAllAsync()).Installs.ShouldBe(1);
        (await StatusAsync(device)).GetProperty("state").GetString().ShouldBe("installing");
        _apple.Assets[AdamId].Serials.ShouldBe(["DMP000001"]);
        (await _host.GetJsonAsync<JsonElement>($"/api/apps/{app}")).GetProperty("status").GetProperty("licensesInUse").GetInt32().ShouldBe(1);
        await ipad.PollAsync();
        ipad.Received.Single(r => r.RequestType == "InstallApplication").Command["iTunesStoreID"].ShouldBe(long.Parse(AdamId, System.Globalization.CultureInfo.InvariantCulture));

        // Removing the catalog entry gives its licences back to Apple too.
        using (var deleted = await _host.Client.DeleteAsync(new Uri($"/api/apps/{app}", UriKind.Relative)).WaitAsync(HomeroomHost.Timeout))
        {
            deleted.IsSuccessStatusCode.ShouldBeTrue(await deleted.Content.ReadAsStringAsync());
        }

        _apple.Assets[AdamId].Serials.ShouldBeEmpty();
    }

    private async Task<JsonElement> StatusAsync(Guid device) => (await _host.GetJsonAsync<JsonElement>($"/api/devices/{device}/apps/status"))[0];

    // No licence held or counted here or at Apple, and no install sent to the iPad.
    private async Task NothingHappenedAsync(VirtualAppleDevice ipad, Guid app, Guid device, string adamId)
    {
        (await StatusAsync(device)).GetProperty("holdsLicence").GetBoolean().ShouldBeFalse();
        (await _host.GetJsonAsync<JsonElement>($"/api/apps/{app}")).GetProperty("status").GetProperty("licensesInUse").GetInt32().ShouldBe(0);
        _apple.Assets[adamId].Serials.ShouldBeEmpty();
        await ipad.PollAsync();
        ipad.Received.ShouldNotContain(r => r.RequestType == "InstallApplication");
    }

    private async Task PastTheBackOffAsync(Guid device)
    {
        var next = (await StatusAsync(device)).GetProperty("nextAttemptAt").GetDateTime();
        _host.Clock.Advance(next - _host.Clock.GetUtcNow().UtcDateTime + TimeSpan.FromSeconds(1));
    }
}

public sealed class AppleSchoolManagerSqliteTests() : AppleSchoolManagerTests(DatabaseProvider.Sqlite);

public sealed class AppleSchoolManagerPostgresTests() : AppleSchoolManagerTests(DatabaseProvider.Postgres);
