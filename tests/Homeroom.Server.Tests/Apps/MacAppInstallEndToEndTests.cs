using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Homeroom.Contracts.Agents;
using Homeroom.Server.Accounts;
using Homeroom.Server.AppleSchoolManager;
using Homeroom.Server.Apps;
using Homeroom.Server.Commands;
using Homeroom.Server.Data;
using Homeroom.Server.Devices;
using Homeroom.Server.Tests.AppleSchoolManager;
using Homeroom.Server.Tests.Infrastructure;
using Homeroom.Simulator.Apple;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Hosting;

namespace Homeroom.Server.Tests.Apps;

/// <summary>
/// One server (with the device CA copied in) and one fake Apple (Apps and Books, its content token uploaded) for
/// all the Mac tests of a class: each test enrolls its own Mac and makes its own catalog entries, assigned to that
/// Mac only, so the tests share the server without seeing each other's rows.
/// </summary>
public abstract class MacAppsHost(DatabaseProvider provider) : IAsyncLifetime
{
    public FakeAppleSchoolManager Apple { get; private set; } = null!;

    public HomeroomHost Host { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Apple = await FakeAppleSchoolManager.StartAsync();
        // App status passes only when a test runs one (or an assignment nudges), never from the clock a test advances.
        Host = await HomeroomHost.StartWithDeviceCaAsync(provider, [.. Apple.Settings, "Homeroom:Apps:ReconcileInterval=01:00:00", "Homeroom:Apple:NotNowRetry=00:00:01"]);
        // Apple School Manager's start-up pass (licence counts too) ends before the token is there, or it could rewrite a test's counts.
        await Host.GetService<IEnumerable<IHostedService>>().OfType<AppleSchoolManagerSchedule>().Single().FirstPass.WaitAsync(HomeroomHost.Timeout);
        var file = Apple.ContentTokenFile(DateTime.UtcNow.AddYears(1));
        Apple.AcceptContentToken(file);
        using var uploaded = await Host.Client.PutAsync(new Uri("/api/apple/school-manager/content-token", UriKind.Relative),
            new StringContent(file, Encoding.UTF8, "application/octet-stream")).WaitAsync(HomeroomHost.Timeout);
        uploaded.StatusCode.ShouldBe(HttpStatusCode.OK, await uploaded.Content.ReadAsStringAsync());
    }

    public async Task DisposeAsync()
    {
        await Host.DisposeAsync();
        await Apple.DisposeAsync();
    }
}

public sealed class MacAppsSqliteHost() : MacAppsHost(DatabaseProvider.Sqlite);

public sealed class MacAppsPostgresHost() : MacAppsHost(DatabaseProvider.Postgres);

/// <summary>
/// App Store apps on Macs enrolled through Apple MDM, end to end: a real server, a simulated Mac over loopback
/// through the real MDM endpoints, Apple's Apps and Books faked on loopback, and the reconciler's passes. A paid
/// required app's licence is assigned to the Mac's serial number at Apple first, then InstallApplication goes
/// out as a managed install (the keys Apple's schema gives macOS); Apple's ManagedApplicationList saying Managed
/// makes it installed. When Apple has no licence left, the status says so and nothing is sent. An App Store app
/// with no macOS version is refused by the Mac and failed with its words and the likely cause. A blocked app
/// Homeroom installed is removed with RemoveApplication; one installed another way is not applicable (macOS
/// removes only MDM's apps and has no blocked-apps restriction), and the Mac's policy profile never carries
/// blocked-app keys.
/// </summary>
public abstract class MacAppInstallEndToEndTests(MacAppsHost fixture) : IDisposable
{
    private static int _serials;
    private static long _storeIds = 7_100_000_000;

    private readonly List<VirtualAppleDevice> _devices = [];

    private HomeroomHost Host => fixture.Host;

    private FakeAppleSchoolManager Apple => fixture.Apple;

    private AppInstallReconciler Reconciler => Host.GetService<AppInstallReconciler>();

    public void Dispose()
    {
        _devices.ForEach(d => d.Dispose());
        GC.SuppressFinalize(this);
    }

    [Fact]
    public async Task PaidApp_MdmMac_LicenceAtAppleForItsSerialFirst_ThenManagedInstall_InstalledFromManagedApplicationList()
    {
        var (mac, id) = await EnrolledMacAsync();
        var app = await AppAsync(mac, "Logic Lab", licences: 2, appleTotal: 2);

        await AssignAsync(app.Id, id, "required");
        await Reconciler.ReconcileAllAsync();

        // The licence went to the Mac's serial number at Apple before the Mac was asked to install.
        Apple.Assets[app.AdamId].Serials.ShouldBe([mac.Serial]);
        var status = await StatusAsync(id, app.Id);
        status.GetProperty("state").GetString().ShouldBe("installing");
        status.GetProperty("holdsLicence").GetBoolean().ShouldBeTrue();
        (await Host.GetJsonAsync<JsonElement>($"/api/apps/{app.Id}")).GetProperty("status").GetProperty("licensesInUse").GetInt32().ShouldBe(1);

        (await mac.PollAsync()).ShouldBeGreaterThan(0);
        var install = mac.Received.Single(r => r.RequestType == "InstallApplication").Command;
        install.Keys.Order(StringComparer.Ordinal).ShouldBe(["ChangeManagementState", "InstallAsManaged", "ManagementFlags", "RequestType", "iTunesStoreID"]);
        install["iTunesStoreID"].ShouldBe(long.Parse(app.AdamId, CultureInfo.InvariantCulture));
        install["InstallAsManaged"].ShouldBe(true);
        install["ManagementFlags"].ShouldBe(1L);
        install["ChangeManagementState"].ShouldBe("Managed");

        // Accepted: the next pass asks for both lists; past the download Apple's own list says Managed, which alone
        // (no further pass) makes the status installed.
        Host.Clock.Advance(TimeSpan.FromMinutes(3));
        await Reconciler.ReconcileAllAsync();
        await mac.PollAsync();
        mac.Received.ShouldContain(r => r.RequestType == "ManagedApplicationList");
        mac.ManagedApps.ShouldContain(app.BundleId);
        status = await StatusAsync(id, app.Id);
        status.GetProperty("state").GetString().ShouldBe("installed");
        status.GetProperty("reason").ValueKind.ShouldBe(JsonValueKind.Null);

        // Counted in the catalog like any device's.
        var counts = (await Host.GetJsonAsync<JsonElement>($"/api/apps/{app.Id}")).GetProperty("status");
        counts.GetProperty("installed").GetInt32().ShouldBe(1);
    }

    [Fact]
    public async Task LicenceShortageAtApple_MdmMac_IsNoLicenceWithApplesWords_AndNothingIsSent()
    {
        var (mac, id) = await EnrolledMacAsync();
        var app = await AppAsync(mac, "Chemistry Set", licences: 5, appleTotal: 1);
        Apple.Assets[app.AdamId].Serials.Add("C02ELSEWHERE"); // the only licence Apple has is another device's

        await AssignAsync(app.Id, id, "required");
        await Reconciler.ReconcileAllAsync();

        var status = await StatusAsync(id, app.Id);
        status.GetProperty("state").GetString().ShouldBe("no-licence");
        status.GetProperty("reason").GetString()!.ShouldContain("No licence left in Apple School Manager");
        status.GetProperty("holdsLicence").GetBoolean().ShouldBeFalse();
        Apple.Assets[app.AdamId].Serials.ShouldBe(["C02ELSEWHERE"]);
        (await Host.GetJsonAsync<JsonElement>($"/api/apps/{app.Id}")).GetProperty("status").GetProperty("licensesInUse").GetInt32().ShouldBe(0);
        await mac.PollAsync();
        mac.Received.ShouldNotContain(r => r.RequestType == "InstallApplication");
    }

    [Fact]
    public async Task AppWithNoMacVersion_MdmMac_RefusesTheInstall_FailedWithItsWordsAndTheLikelyCause()
    {
        var (mac, id) = await EnrolledMacAsync();
        var app = await AppAsync(mac, "Tablet Only", licences: null, appleTotal: null);
        mac.AppStore.Remove(long.Parse(app.AdamId, CultureInfo.InvariantCulture)); // not in the Mac App Store

        await AssignAsync(app.Id, id, "required");
        await Reconciler.ReconcileAllAsync();
        await mac.PollAsync();
        mac.Received.ShouldContain(r => r.RequestType == "InstallApplication");
        await Reconciler.ReconcileAllAsync();

        var status = await StatusAsync(id, app.Id);
        status.GetProperty("state").GetString().ShouldBe("failed");
        var reason = status.GetProperty("reason").GetString()!;
        reason.ShouldContain("The Mac refused the install");
        reason.ShouldContain("could not be found in the App Store"); // the Mac's own words
        reason.ShouldContain("macOS version");
        status.GetProperty("attempts").GetInt32().ShouldBe(1);
        status.GetProperty("nextAttemptAt").ValueKind.ShouldBe(JsonValueKind.String);
    }

    [Fact]
    public async Task BlockedApp_MdmMac_RemovedWhereMdmInstalledIt_NotApplicableWhereItDidNot_AndNeverInItsRestrictions()
    {
        var (mac, id) = await EnrolledMacAsync();
        var game = await AppAsync(mac, "Arcade Game", licences: null, appleTotal: null);
        mac.InstalledApps.Add((game.BundleId, "Arcade Game", "2.0")); // the student installed it from the App Store

        // Blocked, but Homeroom did not install it: RemoveApplication cannot touch it and nothing stops it starting.
        await AssignAsync(game.Id, id, "blocked");
        await ListAppsAsync(mac, id, game.BundleId, present: true);
        await Reconciler.ReconcileAllAsync();
        var status = await StatusAsync(id, game.Id);
        status.GetProperty("state").GetString().ShouldBe("not-applicable");
        status.GetProperty("reason").GetString()!.ShouldContain("removes only the apps MDM installed");
        var note = (await Host.GetJsonAsync<JsonElement>($"/api/devices/{id}/effective-apps")).EnumerateArray().Single(a => a.GetProperty("appId").GetGuid() == game.Id);
        note.GetProperty("note").GetString()!.ShouldContain("not stopped from starting");

        // An app Homeroom installed is managed: blocking it removes it.
        var tool = await AppAsync(mac, "Drawing Tool", licences: 1, appleTotal: 1);
        var assignment = await AssignAsync(tool.Id, id, "required");
        await Reconciler.ReconcileAllAsync();
        await mac.PollAsync();
        Host.Clock.Advance(TimeSpan.FromMinutes(3));
        await Reconciler.ReconcileAllAsync();
        await mac.PollAsync();
        (await StatusAsync(id, tool.Id)).GetProperty("state").GetString().ShouldBe("installed");
        Apple.Assets[tool.AdamId].Serials.ShouldBe([mac.Serial]);

        using (var blocked = await Host.Client.PutAsJsonAsync(new Uri($"/api/app-assignments/{assignment}", UriKind.Relative), new { intent = "blocked", level = "device", scopeId = id.ToString() }).WaitAsync(HomeroomHost.Timeout))
        {
            blocked.IsSuccessStatusCode.ShouldBeTrue(await blocked.Content.ReadAsStringAsync());
        }

        await Poll.UntilAsync(async () => (await StatusAsync(id, tool.Id)).GetProperty("intent").GetString() == "blocked");
        await Reconciler.ReconcileAllAsync();
        (await StatusAsync(id, tool.Id)).GetProperty("state").GetString().ShouldBe("removing");
        Apple.Assets[tool.AdamId].Serials.ShouldBeEmpty(); // a blocked app needs no licence: given back at Apple
        await mac.PollAsync();
        mac.Received.Single(r => r.RequestType == "RemoveApplication").Command["Identifier"].ShouldBe(tool.BundleId);
        mac.Received.Where(r => r.RequestType == "RemoveApplication").ShouldAllBe(r => (string)r.Command["Identifier"] != game.BundleId);
        mac.InstalledApps.ShouldNotContain(a => a.Identifier == tool.BundleId);
        await Reconciler.ReconcileAllAsync();
        await mac.PollAsync();
        await Poll.UntilAsync(async () => !await HasAppAsync(id, tool.BundleId));
        await Reconciler.ReconcileAllAsync();
        (await StatusAsync(id, tool.Id)).GetProperty("state").GetString().ShouldBe("removed");

        // The Mac's profile, built from its policy as it is now (two blocked apps), has no blocked-app keys: macOS has none.
        await Host.GetService<IssueCommand>().ExecuteAsync(StaffScope.System, CommandKinds.ApplyPolicy, null, new CommandTarget([id], null, null), TimeSpan.FromMinutes(10));
        await mac.PollAsync();
        var profiles = mac.Received.Where(r => r.RequestType == "InstallProfile").ToList();
        profiles.ShouldNotBeEmpty();
        foreach (var profile in profiles)
        {
            var payloads = ((List<object>)Homeroom.Contracts.Apple.PropertyList.ReadDictionary((byte[])profile.Command["Payload"])["PayloadContent"]).Cast<Dictionary<string, object>>();
            payloads.Where(p => (string)p["PayloadType"] == "com.apple.applicationaccess")
                .ShouldAllBe(p => !p.ContainsKey("blockedAppBundleIDs") && !p.ContainsKey("blacklistedAppBundleIDs"));
        }

        mac.BlockedApps.ShouldBeEmpty();
    }

    [Fact]
    public async Task MacPackage_MdmMac_InstallEnterpriseApplicationFromTheCatalog_UpdatedWhenItChanges_ABadOneFailsWhileTheOldStays()
    {
        var (mac, id) = await EnrolledMacAsync();
        var n = Interlocked.Increment(ref _storeIds);
        var (bundleId, package) = ($"org.example.atlas{n}", $"org.example.atlas{n}.pkg");
        var (v1, v2, v3) = (Sha256Of("atlas 1.0"), Sha256Of("atlas 2.0"), Sha256Of("atlas 3.0"));
        string Url(int version) => $"https://apps.example.org/atlas{n}-{version}.pkg";
        mac.Packages[Url(1)] = (v1, bundleId, "Atlas", "1.0");
        object Body(int version, string sha256) => new
        {
            name = $"Atlas {n}", category = "reference",
            macPackage = new { packageId = package, url = Url(version), sha256, appPath = "/Applications/Atlas.app", bundleId },
        };
        var app = (await Host.PostJsonAsync<JsonElement>("/api/apps", Body(1, v1))).GetProperty("id").GetGuid();

        // Required: InstallEnterpriseApplication with the manifest embedded, as a managed install.
        await AssignAsync(app, id, "required");
        await Reconciler.ReconcileAllAsync();
        (await StatusAsync(id, app)).GetProperty("state").GetString().ShouldBe("installing");
        await mac.PollAsync();
        var install = mac.Received.Single(r => r.RequestType == "InstallEnterpriseApplication").Command;
        install.Keys.Order(StringComparer.Ordinal).ShouldBe(["ChangeManagementState", "InstallAsManaged", "ManagementFlags", "Manifest", "RequestType"]);
        var asset = ManifestAsset(install);
        asset["url"].ShouldBe(Url(1));
        asset["sha256s"].ShouldBe(new List<object> { v1 });
        mac.Received.ShouldNotContain(r => r.RequestType == "InstallApplication");

        // Accepted; past the download the Mac lists the app and Apple's list says Managed: installed, with the package's hash.
        Host.Clock.Advance(TimeSpan.FromMinutes(3));
        await Reconciler.ReconcileAllAsync();
        await mac.PollAsync();
        var status = await StatusAsync(id, app);
        status.GetProperty("state").GetString().ShouldBe("installed");
        status.GetProperty("installedSha256").GetString().ShouldBe(v1);
        mac.InstalledApps.ShouldContain((bundleId, "Atlas", "1.0"));
        (await Reconciler.ReconcileAllAsync()).Installs.ShouldBe(0);

        // The catalog's package changes: the Mac is sent the new one and stays installing while it downloads (the old
        // version still listed); installed with the new hash once Apple's list says Managed again.
        mac.Packages[Url(2)] = (v2, bundleId, "Atlas", "2.0");
        await PutAsync(app, Body(2, v2));
        await Reconciler.ReconcileAllAsync();
        status = await StatusAsync(id, app);
        status.GetProperty("state").GetString().ShouldBe("installing");
        status.GetProperty("reason").GetString().ShouldBe(Homeroom.Rules.Apps.AppStatusPlans.MacPackageUpdating(v1, v2));
        await mac.PollAsync();
        ManifestAsset(mac.Received.Last(r => r.RequestType == "InstallEnterpriseApplication").Command)["url"].ShouldBe(Url(2));
        var managedLists = mac.Received.Count(r => r.RequestType == "ManagedApplicationList");
        await Reconciler.ReconcileAllAsync();
        await mac.PollAsync();
        mac.Received.Count(r => r.RequestType == "ManagedApplicationList").ShouldBe(managedLists + 1); // Apple's list says Installing while it downloads
        status = await StatusAsync(id, app);
        status.GetProperty("state").GetString().ShouldBe("installing");
        status.GetProperty("installedSha256").GetString().ShouldBe(v1);
        mac.InstalledApps.ShouldContain((bundleId, "Atlas", "1.0"));
        Host.Clock.Advance(TimeSpan.FromMinutes(6));
        await Reconciler.ReconcileAllAsync();
        await mac.PollAsync();
        status = await StatusAsync(id, app);
        status.GetProperty("state").GetString().ShouldBe("installed");
        status.GetProperty("installedSha256").GetString().ShouldBe(v2);
        mac.InstalledApps.ShouldContain((bundleId, "Atlas", "2.0"));

        // A bad package: what the new URL serves is not what the catalog says; the Mac refuses it, the row is failed with its
        // words and the old package stays installed.
        mac.Packages[Url(3)] = (Sha256Of("tampered"), bundleId, "Atlas", "3.0");
        await PutAsync(app, Body(3, v3));
        await Reconciler.ReconcileAllAsync();
        await mac.PollAsync();
        await Reconciler.ReconcileAllAsync();
        status = await StatusAsync(id, app);
        status.GetProperty("state").GetString().ShouldBe("failed");
        var reason = status.GetProperty("reason").GetString()!;
        reason.ShouldContain($"The Mac refused the package {package}");
        reason.ShouldContain("does not match the hash in its manifest");
        reason.ShouldEndWith(Homeroom.Rules.Apps.AppStatusPlans.MacPackageKept(v2));
        status.GetProperty("installedSha256").GetString().ShouldBe(v2);
        status.GetProperty("attempts").GetInt32().ShouldBe(1);
        mac.InstalledApps.ShouldContain((bundleId, "Atlas", "2.0"));
    }

    [Fact]
    public async Task MacPackageWithoutBundleId_MdmMac_IsNotApplicableWithTheReason_AndNothingIsSent()
    {
        var (mac, id) = await EnrolledMacAsync();
        var n = Interlocked.Increment(ref _storeIds);
        var app = (await Host.PostJsonAsync<JsonElement>("/api/apps", new
        {
            name = $"Unnamed Bundle {n}", category = "utilities",
            macPackage = new { packageId = $"org.example.unnamed{n}.pkg", url = "https://apps.example.org/unnamed.pkg", sha256 = Sha256Of("unnamed") },
        })).GetProperty("id").GetGuid();

        await AssignAsync(app, id, "required");
        await Reconciler.ReconcileAllAsync();

        var status = await StatusAsync(id, app);
        status.GetProperty("state").GetString().ShouldBe("not-applicable");
        status.GetProperty("reason").GetString().ShouldBe(Homeroom.Rules.Apps.AppStatusPlans.MacMdmNoBundleId);
        await mac.PollAsync();
        mac.Received.ShouldNotContain(r => r.RequestType == "InstallEnterpriseApplication");
    }

    private static string Sha256Of(string text) => Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(Encoding.UTF8.GetBytes(text)));

    private static Dictionary<string, object> ManifestAsset(Dictionary<string, object> command) =>
        (Dictionary<string, object>)((List<object>)((Dictionary<string, object>)((List<object>)((Dictionary<string, object>)command["Manifest"])["items"]).Single())["assets"]).Single();

    private async Task PutAsync(Guid app, object body)
    {
        using var response = await Host.Client.PutAsJsonAsync(new Uri($"/api/apps/{app}", UriKind.Relative), body).WaitAsync(HomeroomHost.Timeout);
        response.StatusCode.ShouldBe(HttpStatusCode.OK, await response.Content.ReadAsStringAsync());
    }

    private sealed record MacApp(Guid Id, string AdamId, string BundleId);

    // A catalog entry for an App Store app the Mac's App Store has (and Apple's licences, when appleTotal is given).
    private async Task<MacApp> AppAsync(VirtualAppleDevice mac, string name, int? licences, int? appleTotal)
    {
        var storeId = Interlocked.Increment(ref _storeIds);
        var adamId = storeId.ToString(CultureInfo.InvariantCulture);
        var bundleId = $"org.example.mac{storeId}";
        mac.AppStore[storeId] = (bundleId, name);
        if (appleTotal is { } total)
        {
            Apple.Assets[adamId] = new FakeAppleSchoolManager.Asset { AdamId = adamId, Total = total };
        }

        var created = await Host.PostJsonAsync<JsonElement>("/api/apps", new { name = $"{name} {storeId}", category = "education", appleAdamId = adamId, appleBundleId = bundleId, licensesPurchased = licences });
        return new MacApp(created.GetProperty("id").GetGuid(), adamId, bundleId);
    }

    private async Task<Guid> AssignAsync(Guid app, Guid device, string intent) =>
        (await Host.PostJsonAsync<JsonElement>($"/api/apps/{app}/assignments", new { intent, level = "device", scopeId = device.ToString() })).GetProperty("id").GetGuid();

    private async Task<JsonElement> StatusAsync(Guid device, Guid app) =>
        (await Host.GetJsonAsync<JsonElement>($"/api/devices/{device}/apps/status")).EnumerateArray().Single(s => s.GetProperty("appId").GetGuid() == app);

    // The Mac lists its apps, as the daily inventory asks it to, until the server's copy shows (or no longer shows) the app.
    private async Task ListAppsAsync(VirtualAppleDevice mac, Guid id, string bundleId, bool present)
    {
        using (var list = await Host.PostJsonAsync("/api/commands", new { kind = "listApps", deviceIds = new[] { id } }))
        {
            list.StatusCode.ShouldBe(HttpStatusCode.Accepted, await list.Content.ReadAsStringAsync());
        }

        await mac.PollAsync();
        await Poll.UntilAsync(async () => await HasAppAsync(id, bundleId) == present);
    }

    private async Task<bool> HasAppAsync(Guid device, string bundleId)
    {
        await using var db = await Host.GetService<IDbContextFactory<HomeroomDbContext>>().CreateDbContextAsync();
        return await db.DeviceApps.AnyAsync(a => a.DeviceId == device && a.Source == DeviceAppSources.Device && a.AppId == bundleId);
    }

    private async Task<(VirtualAppleDevice Device, Guid Id)> EnrolledMacAsync()
    {
        var n = Interlocked.Increment(ref _serials);
        var mac = new VirtualAppleDevice(
            Host.Client, Host.BaseAddress, $"MAC-UDID-{n:D4}-{Guid.NewGuid():N}", $"C02M{n:D4}{Random.Shared.Next(1000, 9999)}", productName: "MacBookAir10,1", osVersion: "15.1",
            clock: Host.Clock, installDelay: TimeSpan.FromMinutes(2));
        _devices.Add(mac);
        mac.InstalledApps.Clear();
        mac.InstalledApps.Add(("com.apple.Safari", "Safari", "18.1"));
        await mac.InstallEnrollmentProfileAsync(await Host.CreateTokenAsync());
        using (var authenticate = await mac.AuthenticateAsync())
        {
            authenticate.StatusCode.ShouldBe(HttpStatusCode.OK, await authenticate.Content.ReadAsStringAsync());
        }

        using (var token = await mac.TokenUpdateAsync())
        {
            token.StatusCode.ShouldBe(HttpStatusCode.OK);
        }

        var device = (await Host.GetJsonAsync<JsonElement>($"/api/devices?q={mac.Serial}")).GetProperty("items")[0];
        device.GetProperty("platform").GetString().ShouldBe("macos");
        var id = device.GetProperty("id").GetGuid();

        // A new device first gets its policy as a configuration profile.
        await Poll.UntilAsync(async () => await mac.PollAsync() > 0 || mac.Received.Count > 0);
        return (mac, id);
    }
}

public sealed class MacAppInstallEndToEndSqliteTests(MacAppsSqliteHost fixture) : MacAppInstallEndToEndTests(fixture), IClassFixture<MacAppsSqliteHost>;

public sealed class MacAppInstallEndToEndPostgresTests(MacAppsPostgresHost fixture) : MacAppInstallEndToEndTests(fixture), IClassFixture<MacAppsPostgresHost>;
