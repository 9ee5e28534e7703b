using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Homeroom.Server.Data;
using Homeroom.Server.Tests.Infrastructure;
using Homeroom.Simulator.Apple;
using Microsoft.EntityFrameworkCore;

namespace Homeroom.Server.Tests.Apple;

public abstract class MdmTests(DatabaseProvider provider) : IAsyncLifetime
{
    private readonly List<VirtualAppleDevice> _devices = [];

    protected HomeroomHost Host { get; private set; } = null!;

    public async Task InitializeAsync() => Host = await HomeroomHost.StartWithDeviceCaAsync(provider, "Homeroom:Apple:NotNowRetry=00:00:01");

    public async Task DisposeAsync()
    {
        _devices.ForEach(d => d.Dispose());
        await Host.DisposeAsync();
    }

    private VirtualAppleDevice NewDevice(string product = "iPad13,18")
    {
        var n = _devices.Count + 1;
        var device = new VirtualAppleDevice(Host.Client, Host.BaseAddress, $"00008030-{n:D4}A2D3E0C38802E", $"DMPX{n:D6}", product);
        _devices.Add(device);
        return device;
    }

    private async Task<(VirtualAppleDevice Device, Guid Id)> EnrolledAsync(string product = "iPad13,18")
    {
        var device = NewDevice(product);
        await device.InstallEnrollmentProfileAsync(await Host.CreateTokenAsync());
        using var authenticate = await device.AuthenticateAsync();
        authenticate.StatusCode.ShouldBe(HttpStatusCode.OK, await authenticate.Content.ReadAsStringAsync());
        using var token = await device.TokenUpdateAsync();
        token.StatusCode.ShouldBe(HttpStatusCode.OK);
        var id = (await Host.GetJsonAsync<JsonElement>($"/api/devices?q={device.Serial}")).GetProperty("items")[0].GetProperty("id").GetGuid();

        // A new device first gets its policy as a configuration profile (again if the policy changed meanwhile, as when
        // the filter lists finish loading at start): the tests begin once it has applied the current version. The app
        // reconciler may ask for its app lists first (in the 13:41 clean run of 2026-12-06 both came before the policy
        // pass had resolved the device, whose version and applied version were then equal before any profile).
        await Poll.UntilAsync(async () =>
        {
            await device.PollAsync();
            var policy = await Host.GetJsonAsync<JsonElement>($"/api/devices/{id}/policy");
            return device.Received.Any(r => r.RequestType == "InstallProfile") && policy.GetProperty("appliedVersion").ValueKind == JsonValueKind.Number
                && policy.GetProperty("appliedVersion").GetInt64() == policy.GetProperty("version").GetInt64();
        });
        device.Received.ShouldAllBe(r => r.RequestType == "InstallProfile" || r.RequestType == "InstalledApplicationList" || r.RequestType == "ManagedApplicationList");
        device.Received.Clear();
        return (device, id);
    }

    private async Task<Guid> IssueAsync(object body) => (await Host.PostJsonAsync<JsonElement>("/api/commands", body)).GetProperty("id").GetGuid();

    private async Task<JsonElement> DeliveryAsync(Guid commandId, Guid deviceId) =>
        (await Host.GetJsonAsync<JsonElement>($"/api/commands/{commandId}/deliveries?pageSize=500")).GetProperty("items").EnumerateArray()
            .Single(d => d.GetProperty("deviceId").GetGuid() == deviceId);

    private async Task<T> WithDbAsync<T>(Func<HomeroomDbContext, Task<T>> read)
    {
        await using var db = await Host.GetService<IDbContextFactory<HomeroomDbContext>>().CreateDbContextAsync();
        return await read(db);
    }

    [Fact]
    public async Task Enrollment_CreatesTheDevice_AndStoresItsPushToken()
    {
        var (device, id) = await EnrolledAsync();

        var record = await Host.GetJsonAsync<JsonElement>($"/api/devices/{id}");
        record.GetProperty("platform").GetString().ShouldBe("ipados");
        record.GetProperty("serial").GetString().ShouldBe(device.Serial);
        var apple = await WithDbAsync(db => db.AppleDevices.SingleAsync(a => a.DeviceId == id));
        apple.Udid.ShouldBe(device.Udid);
        apple.PushToken.ShouldBe(Convert.ToHexStringLower(device.PushToken));
        apple.PushMagic.ShouldBe("PM-" + device.Udid);
        (await Host.GetJsonAsync<JsonElement>("/api/audit?action=mdm.authenticate")).GetProperty("total").GetInt32().ShouldBe(1);
    }

    [Fact]
    public async Task Lock_ReachesTheIPad_AsDeviceLock_AndSucceedsWhenAcknowledged()
    {
        var (device, id) = await EnrolledAsync();

        var command = await IssueAsync(new { kind = "lock", arguments = new { message = "Eyes on the board" }, deviceIds = new[] { id } });
        (await device.PollAsync()).ShouldBe(1);

        device.Received.Single().Id.ShouldBe(command);
        device.Received.Single().RequestType.ShouldBe("DeviceLock");
        device.Received.Single().Command["Message"].ShouldBe("Eyes on the board");
        device.Locked.ShouldBeTrue();
        (await DeliveryAsync(command, id)).GetProperty("status").GetString().ShouldBe("succeeded");
        (await device.PollAsync()).ShouldBe(0);
    }

    [Fact]
    public async Task MixedClass_OneLockReachesChromebookAndIPad_UnsupportedActionsFailOnlyOnTheIPad()
    {
        var (ipad, ipadId) = await EnrolledAsync();
        await using var chromebook = await Host.ConnectNewAgentAsync();
        var group = await Host.PostJsonAsync<JsonElement>("/api/groups", new { name = "Period 2 science", kind = "class" });
        var groupId = group.GetProperty("id").GetGuid();
        (await Host.PostJsonAsync($"/api/groups/{groupId}/members", new { deviceIds = new[] { ipadId, chromebook.DeviceId } })).EnsureSuccessStatusCode();

        var lockId = await IssueAsync(new { kind = "lock", groupId });
        await chromebook.HandleNextCommandAsync();
        await ipad.PollAsync();
        await Poll.UntilAsync(async () => (await Host.GetJsonAsync<JsonElement>($"/api/commands/{lockId}")).GetProperty("counts").GetProperty("succeeded").GetInt32() == 2);

        var messageId = await IssueAsync(new { kind = "message", arguments = new { text = "Hello" }, groupId });
        await chromebook.HandleNextCommandAsync();
        var ipadDelivery = await DeliveryAsync(messageId, ipadId);
        ipadDelivery.GetProperty("status").GetString().ShouldBe("failed");
        ipadDelivery.GetProperty("error").GetString()!.ShouldContain("no message command");
        (await ipad.PollAsync()).ShouldBe(0);
        await Poll.UntilAsync(async () => (await DeliveryAsync(messageId, chromebook.DeviceId)).GetProperty("status").GetString() == "succeeded");

        // An MDM-only action: the iPad installs the app, the Chromebook records why it did not.
        var install = await IssueAsync(new { kind = "installApp", arguments = new { appStoreId = "361309726" }, groupId });
        await ipad.PollAsync();
        ipad.Received[^1].RequestType.ShouldBe("InstallApplication");
        ipad.Received[^1].Command["iTunesStoreID"].ShouldBe(361309726L);
        (await DeliveryAsync(install, ipadId)).GetProperty("status").GetString().ShouldBe("succeeded");
        (await DeliveryAsync(install, chromebook.DeviceId)).GetProperty("error").GetString()!.ShouldContain("Apple MDM");

        using var alone = await Host.PostJsonAsync("/api/commands", new { kind = "unlock", deviceIds = new[] { ipadId } });
        alone.StatusCode.ShouldBe(HttpStatusCode.BadRequest);
        (await alone.Content.ReadAsStringAsync()).ShouldContain("passcode");
    }

    [Fact]
    public async Task NotNow_KeepsTheCommand_AndOffersItAgainOnlyAfterAPause()
    {
        var (device, id) = await EnrolledAsync();
        var command = await IssueAsync(new { kind = "ping", deviceIds = new[] { id } });

        (await device.PollAsync((_, _) => "NotNow")).ShouldBe(1);
        (await DeliveryAsync(command, id)).GetProperty("status").GetString().ShouldBe("sent");
        (await device.PollAsync()).ShouldBe(0); // not straight back

        await Task.Delay(1200);
        (await device.PollAsync()).ShouldBe(1);
        var delivery = await DeliveryAsync(command, id);
        delivery.GetProperty("status").GetString().ShouldBe("succeeded");
        delivery.GetProperty("result").GetString()!.ShouldContain("QueryResponses");
    }

    [Fact]
    public async Task Error_FailsTheDelivery_KeepingTheErrorChain()
    {
        var (device, id) = await EnrolledAsync();
        var command = await IssueAsync(new { kind = "ping", deviceIds = new[] { id } });

        await device.PollAsync((_, _) => "Error");

        var delivery = await DeliveryAsync(command, id);
        delivery.GetProperty("status").GetString().ShouldBe("failed");
        delivery.GetProperty("error").GetString()!.ShouldContain("The device is busy.");
        delivery.GetProperty("error").GetString()!.ShouldContain("MCMDMErrorDomain");
    }

    [Fact]
    public async Task MacLock_CarriesAPin_KeptAsTheResult()
    {
        var (mac, id) = await EnrolledAsync("MacBookAir10,1");
        (await Host.GetJsonAsync<JsonElement>($"/api/devices/{id}")).GetProperty("platform").GetString().ShouldBe("macos");
        var command = await IssueAsync(new { kind = "lock", deviceIds = new[] { id } });

        await mac.PollAsync();

        var pin = (string)mac.Received.Single().Command["PIN"];
        pin.Length.ShouldBe(6);
        (await DeliveryAsync(command, id)).GetProperty("result").GetString().ShouldBe($"PIN {pin}");
    }

    [Fact]
    public async Task OneDevice_CannotSpeakForAnother()
    {
        var (first, firstId) = await EnrolledAsync();
        var (second, secondId) = await EnrolledAsync();
        var command = await IssueAsync(new { kind = "ping", deviceIds = new[] { firstId } });
        await first.PollAsync((_, _) => "NotNow");

        // The second device answers the first device's command: nothing changes.
        using (var forged = await second.SendAsync("/mdm/connect", new() { ["UDID"] = second.Udid, ["Status"] = "Acknowledged", ["CommandUUID"] = command.ToString() }))
        {
            forged.StatusCode.ShouldBe(HttpStatusCode.OK);
        }

        (await DeliveryAsync(command, firstId)).GetProperty("status").GetString().ShouldBe("sent");

        // The second device's identity claiming the first device's UDID is refused.
        using (var impostor = await second.SendAsync("/mdm/connect", new() { ["UDID"] = first.Udid, ["Status"] = "Idle" }))
        {
            impostor.StatusCode.ShouldBe(HttpStatusCode.Forbidden);
        }

        // Another valid identity for an enrolled UDID needs an enrollment token; a self-made one is refused outright.
        using var fresh = new VirtualAppleDevice(Host.Client, Host.BaseAddress, first.Udid, first.Serial);
        (await fresh.TokenUpdateAsync()).StatusCode.ShouldBe(HttpStatusCode.Unauthorized);
        await fresh.InstallEnrollmentProfileAsync(await Host.CreateTokenAsync());
        (await fresh.TokenUpdateAsync()).StatusCode.ShouldBe(HttpStatusCode.Forbidden);
        (await fresh.AuthenticateAsync(null)).StatusCode.ShouldBe(HttpStatusCode.Forbidden);
        (await WithDbAsync(db => db.AppleDevices.SingleAsync(a => a.DeviceId == firstId))).IdentityThumbprint
            .ShouldBe(Homeroom.Server.Apple.MdmIdentity.Thumbprint(first.Identity));
        secondId.ShouldNotBe(firstId);
    }

    [Fact]
    public async Task BadRequests_AreRefused_AndStoreNothing()
    {
        var device = NewDevice();
        var token = await Host.CreateTokenAsync();
        await device.InstallEnrollmentProfileAsync(token);

        // The signature is checked before the body is read as a property list: unsigned or wrongly signed is 401, whatever the body.
        using (var unsigned = await device.SendRawAsync("/mdm/checkin?enroll=" + token, Encoding.UTF8.GetBytes("<plist><dict/></plist>"), null))
        {
            unsigned.StatusCode.ShouldBe(HttpStatusCode.Unauthorized);
            unsigned.Content.Headers.ContentType!.MediaType.ShouldBe("application/problem+json");
        }

        var body = Homeroom.Contracts.Apple.PropertyList.WriteXml(new Dictionary<string, object> { ["MessageType"] = "Authenticate", ["UDID"] = device.Udid });
        (await device.SendRawAsync("/mdm/checkin?enroll=" + token, body, null)).StatusCode.ShouldBe(HttpStatusCode.Unauthorized);
        var tampered = Encoding.UTF8.GetBytes(Encoding.UTF8.GetString(body).Replace("Authenticate", "Authenticatf", StringComparison.Ordinal));
        (await device.SendRawAsync("/mdm/checkin?enroll=" + token, tampered, device.Sign(body))).StatusCode.ShouldBe(HttpStatusCode.Unauthorized);
        (await device.SendRawAsync("/mdm/checkin", Encoding.UTF8.GetBytes("<plist><dict><key>UDID</key>"), "x")).StatusCode.ShouldBe(HttpStatusCode.Unauthorized);
        (await device.SendRawAsync("/mdm/checkin", body, new string('A', 20_000))).StatusCode.ShouldBe(HttpStatusCode.Unauthorized); // a signature over the size limit is not decoded

        // Signed by an identity this server issued, but not a usable message: 400 with the reason.
        var malformed = Encoding.UTF8.GetBytes("<plist><dict><key>UDID</key>");
        using (var bad = await device.SendRawAsync("/mdm/checkin", malformed, device.Sign(malformed)))
        {
            bad.StatusCode.ShouldBe(HttpStatusCode.BadRequest);
            (await bad.Content.ReadAsStringAsync()).ShouldContain("Malformed property list");
        }

        var noUdid = Encoding.UTF8.GetBytes("<plist><dict/></plist>");
        (await device.SendRawAsync("/mdm/checkin", noUdid, device.Sign(noUdid))).StatusCode.ShouldBe(HttpStatusCode.BadRequest);
        (await device.SendRawAsync("/mdm/checkin", new byte[2 * 1024 * 1024], "x")).StatusCode.ShouldBe(HttpStatusCode.RequestEntityTooLarge);
        (await device.SendAsync("/mdm/checkin?enroll=" + token, new() { ["MessageType"] = "Hello", ["UDID"] = device.Udid })).StatusCode.ShouldBe(HttpStatusCode.BadRequest);
        (await device.AuthenticateAsync("hre_not-a-real-token")).StatusCode.ShouldBe(HttpStatusCode.Unauthorized);
        (await device.SendAsync("/mdm/connect", new() { ["UDID"] = device.Udid, ["Status"] = "Idle" })).StatusCode.ShouldBe(HttpStatusCode.Forbidden);
        using var selfMade = new VirtualAppleDevice(Host.Client, Host.BaseAddress, "00008030-SELF", "SELF0001");
        (await selfMade.AuthenticateAsync(token)).StatusCode.ShouldBe(HttpStatusCode.Unauthorized);
        using (var bad = await Host.CreateClient().GetAsync("/mdm/enroll?token=hre_nope"))
        {
            bad.StatusCode.ShouldBe(HttpStatusCode.Unauthorized);
        }

        (await WithDbAsync(db => db.AppleDevices.CountAsync())).ShouldBe(0);
        (await Host.GetJsonAsync<JsonElement>("/api/devices")).GetProperty("total").GetInt32().ShouldBe(0);
    }

    [Fact]
    public async Task ReplayedTokenUpdate_CannotBringBackAnOldPushToken()
    {
        var (device, id) = await EnrolledAsync();
        var oldToken = device.PushToken;
        var oldBody = Homeroom.Contracts.Apple.PropertyList.WriteXml(new Dictionary<string, object>
        {
            ["MessageType"] = "TokenUpdate", ["UDID"] = device.Udid, ["Topic"] = "com.apple.mgmt.External.homeroom", ["Token"] = oldToken,
            ["PushMagic"] = "PM-" + device.Udid, ["AwaitingConfiguration"] = false,
        });
        var oldSignature = device.Sign(oldBody);
        device.PushToken = [9, 9, 9, 9];
        (await device.TokenUpdateAsync()).StatusCode.ShouldBe(HttpStatusCode.OK);

        (await device.SendRawAsync("/mdm/checkin", oldBody, oldSignature)).StatusCode.ShouldBe(HttpStatusCode.OK);

        (await WithDbAsync(db => db.AppleDevices.SingleAsync(a => a.DeviceId == id))).PushToken.ShouldBe("09090909");
    }

    [Fact]
    public async Task EnrollmentProfile_PointsAtThisServer_WithAFreshIdentityPerDownload()
    {
        var token = await Host.CreateTokenAsync();
        using var anonymous = Host.CreateClient();

        using var response = await anonymous.GetAsync($"/mdm/enroll?token={Uri.EscapeDataString(token)}");

        response.Content.Headers.ContentType!.MediaType.ShouldBe("application/x-apple-aspen-config");
        var profile = Homeroom.Contracts.Apple.PropertyList.ReadDictionary(await response.Content.ReadAsByteArrayAsync());
        var payloads = ((List<object>)profile["PayloadContent"]).Cast<Dictionary<string, object>>().ToList();
        var mdm = payloads.Single(p => (string)p["PayloadType"] == "com.apple.mdm");
        ((string)mdm["ServerURL"]).ShouldBe(new Uri(Host.BaseAddress, "/mdm/connect").ToString());
        ((string)mdm["CheckInURL"]).ShouldEndWith("/mdm/checkin?enroll=" + Uri.EscapeDataString(token));
        mdm["SignMessage"].ShouldBe(true);
        var identity = payloads.Single(p => (string)p["PayloadType"] == "com.apple.security.pkcs12");
        mdm["IdentityCertificateUUID"].ShouldBe(identity["PayloadUUID"]);
        using var certificate = System.Security.Cryptography.X509Certificates.X509CertificateLoader.LoadPkcs12((byte[])identity["PayloadContent"], (string)identity["Password"]);
        certificate.HasPrivateKey.ShouldBeTrue();
        certificate.Issuer.ShouldContain("Homeroom device identity CA");
        (await Host.GetJsonAsync<JsonElement>("/api/devices")).GetProperty("total").GetInt32().ShouldBe(0); // nothing spent yet
    }

    [Fact]
    public async Task DeclarativeManagement_SoftwareUpdateFromThePolicy_ReachesTheDevice()
    {
        var (device, id) = await EnrolledAsync();
        async Task<JsonElement> AskAsync(string endpoint, byte[]? data = null)
        {
            var message = new Dictionary<string, object> { ["MessageType"] = "DeclarativeManagement", ["UDID"] = device.Udid, ["Endpoint"] = endpoint };
            if (data is not null)
            {
                message["Data"] = data;
            }

            using var response = await device.SendAsync("/mdm/checkin", message);
            response.StatusCode.ShouldBe(HttpStatusCode.OK, await response.Content.ReadAsStringAsync());
            var text = await response.Content.ReadAsStringAsync();
            return text.Length == 0 ? default : JsonDocument.Parse(text).RootElement.Clone();
        }

        var before = (await AskAsync("tokens")).GetProperty("SyncTokens").GetProperty("DeclarationsToken").GetString();
        var profile = await Host.PostJsonAsync<JsonElement>("/api/profiles", new { name = "Pilot: iPadOS 18.2", settings = new { softwareUpdate = new { targetVersion = "18.2", deadline = "2026-12-01T17:00:00" } } });
        await Host.PostJsonAsync<JsonElement>("/api/assignments", new { profileId = profile.GetProperty("id").GetGuid(), level = "device", scopeId = id.ToString() });

        var after = (await AskAsync("tokens")).GetProperty("SyncTokens").GetProperty("DeclarationsToken").GetString();
        after.ShouldNotBe(before);
        var items = (await AskAsync("declaration-items")).GetProperty("Declarations");
        var configuration = items.GetProperty("Configurations")[0];
        var identifier = configuration.GetProperty("Identifier").GetString();
        var declaration = await AskAsync($"declaration/configuration/{identifier}");
        declaration.GetProperty("Type").GetString().ShouldBe("com.apple.configuration.softwareupdate.enforcement.specific");
        declaration.GetProperty("Payload").GetProperty("TargetOSVersion").GetString().ShouldBe("18.2");
        declaration.GetProperty("ServerToken").GetString().ShouldBe(configuration.GetProperty("ServerToken").GetString());
        var activation = await AskAsync($"declaration/activation/{items.GetProperty("Activations")[0].GetProperty("Identifier").GetString()}");
        activation.GetProperty("Payload").GetProperty("StandardConfigurations")[0].GetString().ShouldBe(identifier);

        await AskAsync("status", Encoding.UTF8.GetBytes("""{"StatusItems":{"softwareupdate":{"install-state":"downloading"}}}"""));
        (await WithDbAsync(db => db.AppleDevices.SingleAsync(a => a.DeviceId == id))).DdmStatus!.ShouldContain("downloading");

        // The saved report is on the device's Apple status, for its device page.
        var status = await Host.GetJsonAsync<JsonElement>($"/api/devices/{id}/apple-status");
        status.GetProperty("declarativeStatus").GetProperty("StatusItems").GetProperty("softwareupdate").GetProperty("install-state").GetString().ShouldBe("downloading");
        status.GetProperty("declarativeStatusAt").ValueKind.ShouldBe(JsonValueKind.String);
        status.GetProperty("udid").GetString().ShouldBe(device.Udid);

        using var missing = await device.SendAsync("/mdm/checkin", new() { ["MessageType"] = "DeclarativeManagement", ["UDID"] = device.Udid, ["Endpoint"] = "declaration/configuration/nope" });
        missing.StatusCode.ShouldBe(HttpStatusCode.NotFound);
        using var badStatus = await device.SendAsync("/mdm/checkin", new() { ["MessageType"] = "DeclarativeManagement", ["UDID"] = device.Udid, ["Endpoint"] = "status", ["Data"] = Encoding.UTF8.GetBytes("not json") });
        badStatus.StatusCode.ShouldBe(HttpStatusCode.BadRequest);
    }

    [Fact]
    public async Task PolicyChange_ReachesTheIPadAsAProfile_AndCompliancePicksUpItsAnswer()
    {
        var (device, id) = await EnrolledAsync();
        await Poll.UntilAsync(async () => (await Host.GetJsonAsync<JsonElement>($"/api/devices/{id}/policy")).GetProperty("compliant").GetBoolean());

        var profile = await Host.PostJsonAsync<JsonElement>("/api/profiles", new { name = "No TikTok", settings = new { webFilter = new { blockedSites = new[] { "tiktok.com" } }, restrictions = new { camera = false } } });
        await Host.PostJsonAsync<JsonElement>("/api/assignments", new { profileId = profile.GetProperty("id").GetGuid(), level = "district" });

        await Poll.UntilAsync(async () => await device.PollAsync() > 0);
        var install = device.Received.Single(r => r.RequestType == "InstallProfile");
        var installed = Homeroom.Contracts.Apple.PropertyList.ReadDictionary((byte[])install.Command["Payload"]);
        var payloads = ((List<object>)installed["PayloadContent"]).Cast<Dictionary<string, object>>().ToList();
        ((List<object>)payloads.Single(p => (string)p["PayloadType"] == "com.apple.webcontent-filter")["DenyListURLs"]).ShouldBe(["https://tiktok.com"]);
        payloads.Single(p => (string)p["PayloadType"] == "com.apple.applicationaccess")["allowCamera"].ShouldBe(false);
        await Poll.UntilAsync(async () =>
        {
            var policy = await Host.GetJsonAsync<JsonElement>($"/api/devices/{id}/policy");
            return policy.GetProperty("compliant").GetBoolean() && policy.GetProperty("appliedVersion").GetInt64() == policy.GetProperty("version").GetInt64();
        });
    }

    [Fact]
    public async Task PolicyStoredWhileTheProfileIsBeingFetched_TheProfileIsQueuedAgainWhenTheOlderOneIsAcknowledged()
    {
        var (device, id) = await EnrolledAsync();
        var profile = await Host.PostJsonAsync<JsonElement>("/api/profiles", new { name = "No camera", settings = new { restrictions = new { camera = false } } });
        await Host.PostJsonAsync<JsonElement>("/api/assignments", new { profileId = profile.GetProperty("id").GetGuid(), level = "district" });

        // While the device holds the profile, a newer version is stored (as a distributor pass does when it finds the
        // profile command still queued and so queues no other): the device acknowledges a version that is already old.
        long? fetched = null;
        await Poll.UntilAsync(async () => await device.PollAsync((type, _) =>
        {
            if (type == "InstallProfile" && fetched is null)
            {
                using var db = Host.GetService<IDbContextFactory<HomeroomDbContext>>().CreateDbContext();
                fetched = db.DevicePolicies.Single(p => p.DeviceId == id).Version;
                db.DevicePolicies.Where(p => p.DeviceId == id).ExecuteUpdate(s => s.SetProperty(p => p.Version, p => p.Version + 1));
            }

            return "Acknowledged";
        }) > 0);
        fetched.ShouldNotBeNull();

        // The acknowledgement shows the device behind: its profile is queued again, and it ends on the current version.
        await Poll.UntilAsync(async () =>
        {
            await device.PollAsync();
            var policy = await Host.GetJsonAsync<JsonElement>($"/api/devices/{id}/policy");
            return policy.GetProperty("appliedVersion").GetInt64() == fetched + 1 && policy.GetProperty("version").GetInt64() == fetched + 1;
        });
        device.Received.Count(r => r.RequestType == "InstallProfile").ShouldBe(2);
    }

    [Fact]
    public async Task Wallpaper_UploadedOnce_ReachesASupervisedIPad()
    {
        var (device, id) = await EnrolledAsync();
        var png = Homeroom.Simulator.Fleet.ThumbnailPainter.Paint(64, 40, 1, 0, false);
        using var upload = await Host.Client.PostAsync("/api/apple/wallpapers?name=Maple%20Valley%20crest", new ByteArrayContent(png));
        upload.StatusCode.ShouldBe(HttpStatusCode.Created);
        var wallpaperId = (await upload.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetGuid();

        // Not yet known to be supervised: refused with the reason.
        using var early = await Host.PostJsonAsync("/api/commands", new { kind = "wallpaper", arguments = new { wallpaperId = wallpaperId.ToString() }, deviceIds = new[] { id } });
        early.StatusCode.ShouldBe(HttpStatusCode.BadRequest);
        (await early.Content.ReadAsStringAsync()).ShouldContain("supervised");

        // Its DeviceInformation answer says it is supervised.
        await IssueAsync(new { kind = "ping", deviceIds = new[] { id } });
        await device.PollAsync();
        var command = await IssueAsync(new { kind = "wallpaper", arguments = new { wallpaperId = wallpaperId.ToString(), where = "lock" }, deviceIds = new[] { id } });
        await device.PollAsync();

        var settings = (Dictionary<string, object>)((List<object>)device.Received[^1].Command["Settings"])[0];
        settings["Item"].ShouldBe("Wallpaper");
        settings["Image"].ShouldBe(png);
        settings["Where"].ShouldBe(1L);
        (await DeliveryAsync(command, id)).GetProperty("status").GetString().ShouldBe("succeeded");

        using var missing = await Host.PostJsonAsync("/api/commands", new { kind = "wallpaper", arguments = new { wallpaperId = Guid.NewGuid().ToString() }, deviceIds = new[] { id } });
        missing.StatusCode.ShouldBe(HttpStatusCode.BadRequest);
        using var wrongType = await Host.Client.PostAsync("/api/apple/wallpapers?name=x", new StringContent("<svg/>"));
        wrongType.StatusCode.ShouldBe(HttpStatusCode.UnsupportedMediaType);
        var fake = new ByteArrayContent(Encoding.UTF8.GetBytes("<svg/> pretending to be a PNG"));
        fake.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("image/png");
        using var notAnImage = await Host.Client.PostAsync("/api/apple/wallpapers?name=x", fake);
        notAnImage.StatusCode.ShouldBe(HttpStatusCode.BadRequest);
        (await Host.GetJsonAsync<JsonElement>("/api/apple/wallpapers")).GetArrayLength().ShouldBe(1);
    }

    [Fact]
    public async Task CheckInsAndPolls_MakeTheDeviceOnlineAndSeen_UntilTheWindowPasses()
    {
        var (device, id) = await EnrolledAsync();

        var detail = await Host.GetJsonAsync<JsonElement>($"/api/devices/{id}");
        detail.GetProperty("online").GetBoolean().ShouldBeTrue();
        detail.GetProperty("lastSeenAt").ValueKind.ShouldBe(JsonValueKind.String);
        var online = await Host.GetJsonAsync<JsonElement>("/api/devices?online=true");
        online.GetProperty("items").EnumerateArray().Select(d => d.GetProperty("id").GetGuid()).ShouldContain(id);
        online.GetProperty("items").EnumerateArray().Single(d => d.GetProperty("id").GetGuid() == id).GetProperty("online").GetBoolean().ShouldBeTrue();
        (await Host.GetJsonAsync<JsonElement>($"/api/devices/{id}/apple-status")).GetProperty("online").GetBoolean().ShouldBeTrue();

        // Ten minutes without a check-in or poll: offline, still last seen; the next poll brings it back.
        Host.Clock.Advance(TimeSpan.FromMinutes(11));
        var later = await Host.GetJsonAsync<JsonElement>($"/api/devices/{id}");
        later.GetProperty("online").GetBoolean().ShouldBeFalse();
        later.GetProperty("lastSeenAt").GetDateTime().ShouldBe(detail.GetProperty("lastSeenAt").GetDateTime());
        (await Host.GetJsonAsync<JsonElement>("/api/devices?online=false")).GetProperty("items").EnumerateArray().Select(d => d.GetProperty("id").GetGuid()).ShouldContain(id);
        await device.PollAsync();
        (await Host.GetJsonAsync<JsonElement>($"/api/devices/{id}")).GetProperty("online").GetBoolean().ShouldBeTrue();

        // Written through the presence tracker's batches: the stored last-seen time follows.
        await Host.GetService<Homeroom.Server.Devices.PresenceTracker>().FlushAsync(CancellationToken.None);
        (await WithDbAsync(db => db.Devices.SingleAsync(d => d.Id == id))).LastSeenAt.ShouldNotBeNull();
    }

    [Fact]
    public async Task DeviceInformationAndAppListAnswers_UpdateTheInventory()
    {
        var (device, id) = await EnrolledAsync();
        device.BatteryLevel = 0.42;

        await IssueAsync(new { kind = "ping", deviceIds = new[] { id } });
        (await device.PollAsync()).ShouldBe(1);

        await Poll.UntilAsync(async () => (await Host.GetJsonAsync<JsonElement>($"/api/devices/{id}")).GetProperty("storageTotalBytes").ValueKind == JsonValueKind.Number);
        var detail = await Host.GetJsonAsync<JsonElement>($"/api/devices/{id}");
        detail.GetProperty("osName").GetString().ShouldBe("iPadOS");
        detail.GetProperty("osVersion").GetString().ShouldBe("18.1");
        detail.GetProperty("model").GetString().ShouldBe("iPad (iPad13,18)");
        detail.GetProperty("storageTotalBytes").GetInt64().ShouldBe(64_000_000_000);
        detail.GetProperty("storageFreeBytes").GetInt64().ShouldBe(21_500_000_000);
        detail.GetProperty("batteryLevel").GetInt32().ShouldBe(42);
        detail.GetProperty("inventoryAt").ValueKind.ShouldBe(JsonValueKind.String);

        await IssueAsync(new { kind = "listApps", deviceIds = new[] { id } });
        (await device.PollAsync()).ShouldBe(1);

        await Poll.UntilAsync(async () => (await Host.GetJsonAsync<JsonElement>($"/api/devices/{id}/apps")).GetProperty("total").GetInt32() == 4);
        var apps = (await Host.GetJsonAsync<JsonElement>($"/api/devices/{id}/apps")).GetProperty("items").EnumerateArray().ToList();
        apps.Single(a => a.GetProperty("appId").GetString() == "org.khanacademy.Khan-kids").GetProperty("version").GetString().ShouldBe("4.2.1");
        (await Host.GetJsonAsync<JsonElement>($"/api/devices/{id}")).GetProperty("appCount").GetInt32().ShouldBe(4);

        // A later list replaces the stored one whole.
        device.InstalledApps.RemoveAll(a => a.Identifier == "com.google.chrome.ios");
        await IssueAsync(new { kind = "listApps", deviceIds = new[] { id } });
        await device.PollAsync();
        await Poll.UntilAsync(async () => (await Host.GetJsonAsync<JsonElement>($"/api/devices/{id}/apps")).GetProperty("total").GetInt32() == 3);
    }

    [Fact]
    public async Task Diagnose_AsksDeviceInformationForTheDiagnosticKeys_AndStoresTheAnswerAsAReport()
    {
        var (device, id) = await EnrolledAsync();
        device.BatteryLevel = 0.31;

        using var requested = await Host.Client.PostAsync($"/api/devices/{id}/diagnostics", null);
        requested.StatusCode.ShouldBe(HttpStatusCode.Accepted);
        await device.PollAsync();
        var asked = device.Received.Where(r => r.RequestType != "InstallProfile").ShouldHaveSingleItem(); // a policy change may come too
        asked.RequestType.ShouldBe("DeviceInformation");
        ((List<object>)asked.Command["Queries"]).Cast<string>().ShouldBe(Homeroom.Rules.Apple.MdmCommands.DiagnosticQueries);

        JsonElement latest = default;
        await Poll.UntilAsync(async () =>
        {
            latest = (await Host.GetJsonAsync<JsonElement>($"/api/devices/{id}/diagnostics")).GetProperty("latest");
            return latest.ValueKind == JsonValueKind.Object;
        });
        latest.GetProperty("source").GetString().ShouldBe("apple");
        var report = latest.GetProperty("report");
        report.GetProperty("osName").GetString().ShouldBe("iPadOS");
        report.GetProperty("osVersion").GetString().ShouldBe("18.1");
        report.GetProperty("batteries")[0].GetProperty("level").GetInt32().ShouldBe(31);
        var disk = report.GetProperty("disks")[0];
        disk.GetProperty("totalBytes").GetInt64().ShouldBe(64_000_000_000);
        disk.GetProperty("freeBytes").GetInt64().ShouldBe(21_500_000_000);
        report.GetProperty("facts").GetProperty("SerialNumber").GetString().ShouldBe(device.Serial);
        report.GetProperty("unavailable").EnumerateArray().ShouldContain(n => n.GetString()!.Contains("connection tests"));
    }

    [Fact]
    public async Task AppleStatus_OnlyForMdmDevicesInTheCallersScope()
    {
        var (_, id) = await EnrolledAsync();
        await using var agent = await Host.ConnectNewAgentAsync();
        var school = (await Host.PostJsonAsync<JsonElement>("/api/schools", new { name = "Another school", timeZone = "America/Chicago" })).GetProperty("id").GetGuid();
        using var otherSchoolTech = await Host.SignInAsNewAccountAsync("tech-other", "itTechnician", schoolId: school);

        (await Host.GetJsonAsync<JsonElement>($"/api/devices/{id}/apple-status")).GetProperty("supervised").GetBoolean().ShouldBeFalse();
        using (var notApple = await Host.Client.GetAsync($"/api/devices/{agent.DeviceId}/apple-status"))
        {
            notApple.StatusCode.ShouldBe(HttpStatusCode.NotFound);
        }

        using var outOfScope = await otherSchoolTech.GetAsync($"/api/devices/{id}/apple-status");
        outOfScope.StatusCode.ShouldBe(HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task CheckOut_EndsManagement()
    {
        var (device, id) = await EnrolledAsync();

        (await device.CheckOutAsync()).StatusCode.ShouldBe(HttpStatusCode.OK);

        (await device.SendAsync("/mdm/connect", new() { ["UDID"] = device.Udid, ["Status"] = "Idle" })).StatusCode.ShouldBe(HttpStatusCode.Forbidden);
        (await WithDbAsync(db => db.AppleDevices.SingleAsync(a => a.DeviceId == id))).CheckedOutAt.ShouldNotBeNull();
        (await Host.GetJsonAsync<JsonElement>("/api/audit?action=mdm.checkout")).GetProperty("total").GetInt32().ShouldBe(1);
    }
}

public sealed class MdmSqliteTests() : MdmTests(DatabaseProvider.Sqlite);

public sealed class MdmPostgresTests() : MdmTests(DatabaseProvider.Postgres);
