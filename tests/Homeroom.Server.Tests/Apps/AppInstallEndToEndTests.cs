using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Homeroom.Server.Apps;
using Homeroom.Server.Data;
using Homeroom.Server.Devices;
using Homeroom.Server.Tests.Infrastructure;
using Homeroom.Simulator.Apple;
using Microsoft.EntityFrameworkCore;

namespace Homeroom.Server.Tests.Apps;

/// <summary>
/// iPad app installs end to end: a real server, a simulated iPad enrolled over loopback through the real
/// MDM endpoints, and the reconciler's passes. A required app is sent as InstallApplication, the iPad
/// acknowledges it and lists the app once its download is done (two minutes on the host's clock), and the
/// status goes installing → installed from the iPad's own InstalledApplicationList. An install the iPad
/// refuses is failed with the iPad's words and sent again once the back-off has passed on the host's clock.
/// A blocked app a supervised iPad lists and Homeroom did not install is removed with RemoveApplication from iPadOS 26
/// and kept from opening (state blocked) before it. Apple's ManagedApplicationList is asked
/// for with each app list after an install: an install Apple reports UserRejected is failed with that reason
/// and sent again after the back-off. A supervised iPad's policy profile carries the blocked and disabled
/// apps (blockedAppBundleIDs), sent again when that set changes; an unsupervised iPad's blocked app that
/// Homeroom did not install is not applicable, and one Homeroom installed is still removed.
/// </summary>
public abstract class AppInstallEndToEndTests(DatabaseProvider provider) : IAsyncLifetime
{
    private const long StoreId = 1234567890;
    private const string BundleId = "org.example.fractions";

    private readonly List<VirtualAppleDevice> _devices = [];

    protected HomeroomHost Host { get; private set; } = null!;

    public async Task InitializeAsync() =>
        Host = await HomeroomHost.StartWithDeviceCaAsync(provider, "Homeroom:Apps:ReconcileInterval=01:00:00", "Homeroom:Apple:NotNowRetry=00:00:01");

    public async Task DisposeAsync()
    {
        _devices.ForEach(d => d.Dispose());
        await Host.DisposeAsync();
    }

    private AppInstallReconciler Reconciler => Host.GetService<AppInstallReconciler>();

    [Fact]
    public async Task RequiredApp_SimulatedIPad_GoesFromPendingThroughInstallingToInstalled()
    {
        var (ipad, id) = await EnrolledAsync(refuseInstallEvery: 0);
        var app = await CreateAppAsync("Fractions", StoreId.ToString(System.Globalization.CultureInfo.InvariantCulture), BundleId);

        await AssignAsync(app, "required");

        // The assignment's nudge may already have run a pass (then the install is on its way); otherwise it is pending.
        await Poll.UntilAsync(async () => (await StatusesAsync(id)).GetArrayLength() == 1);
        (await StateAsync(id)).ShouldBeOneOf("pending", "installing");
        await Reconciler.ReconcileAllAsync();
        (await StateAsync(id)).ShouldBe("installing");

        (await ipad.PollAsync()).ShouldBeGreaterThan(0);
        var install = ipad.Received.Single(r => r.RequestType == "InstallApplication").Command;
        install["iTunesStoreID"].ShouldBe(StoreId);
        install["ManagementFlags"].ShouldBe(1L);

        // Accepted: the reconciler asks for the app list; the download is not done yet, so still installing.
        (await Reconciler.ReconcileAllAsync()).AppLists.ShouldBe(1);
        await ipad.PollAsync();
        ipad.Received.ShouldContain(r => r.RequestType == "InstalledApplicationList");
        ipad.Received.ShouldContain(r => r.RequestType == "ManagedApplicationList");
        await Poll.UntilAsync(async () => await HasAppAsync(id, "org.khanacademy.Khan-kids"));
        (await StatusesAsync(id))[0].GetProperty("reason").GetString().ShouldBe("Installing: the app is downloading"); // Apple's status, in words
        (await HasAppAsync(id, BundleId)).ShouldBeFalse();
        (await Reconciler.ReconcileAllAsync()).AppLists.ShouldBe(0); // asked again only after AppListInterval
        (await StateAsync(id)).ShouldBe("installing");

        Host.Clock.Advance(TimeSpan.FromMinutes(6));
        await InstalledAsync(ipad, id);
    }

    [Fact]
    public async Task RefusedInstall_SimulatedIPad_FailsWithItsWords_AndIsSentAgainAfterTheBackOff()
    {
        var (ipad, id) = await EnrolledAsync(refuseInstallEvery: 2);
        var app = await CreateAppAsync("Fractions", StoreId.ToString(System.Globalization.CultureInfo.InvariantCulture), BundleId);
        await AssignAsync(app, "required");
        await Reconciler.ReconcileAllAsync();
        await ipad.PollAsync();
        ipad.InstallsRefused.ShouldBe(1);

        await Reconciler.ReconcileAllAsync();
        var failed = (await StatusesAsync(id))[0];
        failed.GetProperty("state").GetString().ShouldBe("failed");
        failed.GetProperty("reason").GetString()!.ShouldContain("the App Store could not be reached");
        failed.GetProperty("attempts").GetInt32().ShouldBe(1);
        var next = failed.GetProperty("nextAttemptAt").GetDateTime();
        (next - Host.Clock.GetUtcNow().UtcDateTime).TotalMinutes.ShouldBeInRange(0.5, 1.01);

        (await Reconciler.ReconcileAllAsync()).Installs.ShouldBe(0); // backing off
        Host.Clock.Advance(next - Host.Clock.GetUtcNow().UtcDateTime + TimeSpan.FromSeconds(1));
        (await Reconciler.ReconcileAllAsync()).Installs.ShouldBe(1);
        (await StateAsync(id)).ShouldBe("installing");
        await ipad.PollAsync();
        ipad.Received.Count(r => r.RequestType == "InstallApplication").ShouldBe(2);
        ipad.InstallsRefused.ShouldBe(1);

        Host.Clock.Advance(TimeSpan.FromMinutes(3)); // past the download
        await InstalledAsync(ipad, id);
        (await StatusesAsync(id))[0].GetProperty("attempts").GetInt32().ShouldBe(0);
    }

    [Fact]
    public async Task InstallAppleReportsUserRejected_IsFailedWithTheReason_AndSentAgainAfterTheBackOff()
    {
        var (ipad, id) = await EnrolledAsync(refuseInstallEvery: 0);
        ipad.InstallOutcomes[BundleId] = "UserRejected";
        var app = await CreateAppAsync("Fractions", StoreId.ToString(System.Globalization.CultureInfo.InvariantCulture), BundleId);
        await AssignAsync(app, "required");
        await Reconciler.ReconcileAllAsync();
        await ipad.PollAsync();
        ipad.Received.Count(r => r.RequestType == "InstallApplication").ShouldBe(1); // acknowledged; the student declines

        // The list that tells the server may come from this pass or from one the acknowledgement already started.
        await Reconciler.ReconcileAllAsync();
        await ipad.PollAsync();
        ipad.Received.ShouldContain(r => r.RequestType == "ManagedApplicationList");
        await Poll.UntilAsync(async () => await StateAsync(id) == "failed");
        var failed = (await StatusesAsync(id))[0];
        failed.GetProperty("reason").GetString().ShouldBe("UserRejected: the student declined the install");
        failed.GetProperty("attempts").GetInt32().ShouldBe(1);
        var next = failed.GetProperty("nextAttemptAt").GetDateTime();
        (next - Host.Clock.GetUtcNow().UtcDateTime).TotalMinutes.ShouldBeInRange(0.5, 1.01);

        (await Reconciler.ReconcileAllAsync()).Installs.ShouldBe(0); // backing off
        (await StateAsync(id)).ShouldBe("failed");
        Host.Clock.Advance(next - Host.Clock.GetUtcNow().UtcDateTime + TimeSpan.FromSeconds(1));
        (await Reconciler.ReconcileAllAsync()).Installs.ShouldBe(1);
        await ipad.PollAsync();
        ipad.Received.Count(r => r.RequestType == "InstallApplication").ShouldBe(2);

        Host.Clock.Advance(TimeSpan.FromMinutes(3)); // past the download
        await InstalledAsync(ipad, id);
    }

    [Fact]
    public async Task BlockedAndDisabledApps_SupervisedIPad_AreInItsPolicyProfile_SentAgainWhenTheSetChanges()
    {
        var (ipad, id) = await EnrolledAsync(refuseInstallEvery: 0);
        var game = await CreateAppAsync("Khan Kids", "1156311547", "org.khanacademy.Khan-kids");
        await AssignAsync(game, "blocked");

        // The iPad says it is supervised (DeviceInformation): its profile is sent again, now with the blocked app.
        using (var ping = await Host.PostJsonAsync("/api/commands", new { kind = "ping", deviceIds = new[] { id } }))
        {
            ping.StatusCode.ShouldBe(HttpStatusCode.Accepted, await ping.Content.ReadAsStringAsync());
        }

        await ProfileAsync(ipad, ["org.khanacademy.Khan-kids"]);
        var profile = LastProfile(ipad);
        ((List<object>)profile["blacklistedAppBundleIDs"]).ShouldBe(["org.khanacademy.Khan-kids"]); // for iPads before iOS 15

        // A disabled app joins the set; removing the block takes it out again: each change sends the profile again.
        var classroom = await CreateAppAsync("Classroom", "1108187098", "com.google.Classroom");
        await AssignAsync(classroom, "disabled");
        await ProfileAsync(ipad, ["com.google.Classroom", "org.khanacademy.Khan-kids"]);
        var assignment = (await Host.GetJsonAsync<JsonElement>($"/api/apps/{game}/assignments"))[0].GetProperty("id").GetGuid();
        using (var removed = await Host.Client.DeleteAsync(new Uri($"/api/app-assignments/{assignment}", UriKind.Relative)).WaitAsync(HomeroomHost.Timeout))
        {
            removed.IsSuccessStatusCode.ShouldBeTrue(await removed.Content.ReadAsStringAsync());
        }

        await ProfileAsync(ipad, ["com.google.Classroom"]);
    }

    [Fact]
    public async Task ProfileSentInTheSameResponse_AsTheAnswerThatSaysTheIPadIsSupervised_CarriesTheBlockedApps()
    {
        var (ipad, id) = await EnrolledAsync(refuseInstallEvery: 0);
        var game = await CreateAppAsync("Khan Kids", "1156311547", "org.khanacademy.Khan-kids");
        await AssignAsync(game, "blocked");

        // DeviceInformation first, a policy profile after it: the server answers the first with the second, in one
        // response, so the profile must be built from the supervision the answer just reported, not from before it
        // (else it lacks the blocked app while being labelled with the version that has it, and is never sent again).
        using (var ping = await Host.PostJsonAsync("/api/commands", new { kind = "ping", deviceIds = new[] { id } }))
        {
            ping.StatusCode.ShouldBe(HttpStatusCode.Accepted, await ping.Content.ReadAsStringAsync());
        }

        await Host.GetService<Homeroom.Server.Commands.IssueCommand>().ExecuteAsync(
            Homeroom.Server.Accounts.StaffScope.System, Homeroom.Contracts.Agents.CommandKinds.ApplyPolicy, null,
            new Homeroom.Server.Commands.CommandTarget([id], null, null), TimeSpan.FromDays(1), CancellationToken.None);
        await ipad.PollAsync();
        var types = ipad.Received.Select(r => r.RequestType).ToList();
        types.IndexOf("InstallProfile").ShouldBeGreaterThan(types.IndexOf("DeviceInformation"), string.Join(", ", types));
        var first = Restrictions(ipad.Received.First(r => r.RequestType == "InstallProfile").Command);
        ((List<object>)first["blockedAppBundleIDs"]).ShouldBe(["org.khanacademy.Khan-kids"]);
    }

    [Fact]
    public async Task BlockedApp_UnsupervisedIPad_NotApplicableWhenHomeroomDidNotInstallIt_RemovedWhenItDid()
    {
        var (ipad, id) = await EnrolledAsync(refuseInstallEvery: 0, supervised: false);
        using (var ping = await Host.PostJsonAsync("/api/commands", new { kind = "ping", deviceIds = new[] { id } }))
        {
            ping.StatusCode.ShouldBe(HttpStatusCode.Accepted);
        }

        await ipad.PollAsync();
        var kids = await CreateAppAsync("Khan Kids", "1156311547", "org.khanacademy.Khan-kids");
        await AssignAsync(kids, "blocked");
        using (var list = await Host.PostJsonAsync("/api/commands", new { kind = "listApps", deviceIds = new[] { id } }))
        {
            list.StatusCode.ShouldBe(HttpStatusCode.Accepted);
        }

        await ipad.PollAsync();
        await Poll.UntilAsync(async () => await HasAppAsync(id, "org.khanacademy.Khan-kids"));
        (await Reconciler.ReconcileAllAsync()).Removals.ShouldBe(0);
        var status = (await StatusesAsync(id))[0];
        status.GetProperty("state").GetString().ShouldBe("not-applicable");
        status.GetProperty("reason").GetString()!.ShouldContain("not supervised");
        await ipad.PollAsync();
        ipad.Received.ShouldNotContain(r => r.RequestType == "RemoveApplication");
        ipad.Received.Where(r => r.RequestType == "InstallProfile").ShouldAllBe(r => !Restrictions(r.Command).ContainsKey("blockedAppBundleIDs"));

        // An app Homeroom installed is managed: blocking it removes it, supervised or not.
        var fractions = await CreateAppAsync("Fractions", StoreId.ToString(System.Globalization.CultureInfo.InvariantCulture), BundleId);
        await AssignAsync(fractions, "required");
        await Reconciler.ReconcileAllAsync();
        await ipad.PollAsync();
        Host.Clock.Advance(TimeSpan.FromMinutes(3));
        await InstalledAsync(ipad, id, "Fractions");
        var assignment = (await Host.GetJsonAsync<JsonElement>($"/api/apps/{fractions}/assignments"))[0].GetProperty("id").GetGuid();
        using (var blocked = await Host.Client.PutAsJsonAsync(new Uri($"/api/app-assignments/{assignment}", UriKind.Relative), new { intent = "blocked", level = "district" }).WaitAsync(HomeroomHost.Timeout))
        {
            blocked.IsSuccessStatusCode.ShouldBeTrue(await blocked.Content.ReadAsStringAsync());
        }

        await Poll.UntilAsync(async () => (await StatusesAsync(id)).EnumerateArray().Any(s => s.GetProperty("name").GetString() == "Fractions" && s.GetProperty("intent").GetString() == "blocked"));
        await Reconciler.ReconcileAllAsync();
        await ipad.PollAsync();
        ipad.Received.Single(r => r.RequestType == "RemoveApplication").Command["Identifier"].ShouldBe(BundleId);
        ipad.InstalledApps.ShouldNotContain(a => a.Identifier == BundleId);
    }

    [Fact]
    public async Task BlockedApp_SupervisedIPadBeforeIPadOS26_IsBlockedNotRemoved_WhenHomeroomDidNotInstallIt_AndRemovedFrom26()
    {
        // Two supervised iPads with Khan Kids installed by hand: one on iPadOS 18, one on 26.
        var (older, olderId) = await EnrolledAsync(refuseInstallEvery: 0);
        var (newer, newerId) = await EnrolledAsync(refuseInstallEvery: 0, osVersion: "26.1");
        foreach (var (ipad, id) in new[] { (older, olderId), (newer, newerId) })
        {
            await SupervisionLearnedAsync(ipad, id);
            using var list = await Host.PostJsonAsync("/api/commands", new { kind = "listApps", deviceIds = new[] { id } });
            list.StatusCode.ShouldBe(HttpStatusCode.Accepted);
            await ipad.PollAsync();
            await Poll.UntilAsync(async () => await HasAppAsync(id, "org.khanacademy.Khan-kids"));
        }

        var kids = await CreateAppAsync("Khan Kids", "1156311547", "org.khanacademy.Khan-kids");
        await AssignAsync(kids, "blocked");
        // The assignment's nudge may have run the pass already; either way only the iPadOS 26 iPad is asked to remove it.
        await Reconciler.ReconcileAllAsync();
        (await StateAsync(newerId)).ShouldBe("removing");

        // iPadOS 18 would refuse: the restrictions keep the app from opening, and that is final, not a failure retried.
        var status = (await StatusesAsync(olderId))[0];
        status.GetProperty("state").GetString().ShouldBe("blocked");
        status.GetProperty("reason").GetString()!.ShouldContain("before iPadOS 26");
        status.GetProperty("attempts").GetInt32().ShouldBe(0);
        await older.PollAsync();
        older.Received.ShouldNotContain(r => r.RequestType == "RemoveApplication");
        older.InstalledApps.ShouldContain(a => a.Identifier == "org.khanacademy.Khan-kids");
        Host.Clock.Advance(TimeSpan.FromHours(7)); // past the longest back-off: still nothing to retry
        (await Reconciler.ReconcileAllAsync()).Removals.ShouldBe(0);
        (await StateAsync(olderId)).ShouldBe("blocked");
        var counts = (await Host.GetJsonAsync<JsonElement>($"/api/apps/{kids}")).GetProperty("status");
        counts.GetProperty("failed").GetInt32().ShouldBe(0);

        // iPadOS 26 removes an app MDM did not install from a supervised iPad.
        await newer.PollAsync();
        newer.Received.Single(r => r.RequestType == "RemoveApplication").Command["Identifier"].ShouldBe("org.khanacademy.Khan-kids");
        newer.InstalledApps.ShouldNotContain(a => a.Identifier == "org.khanacademy.Khan-kids");
        (await Reconciler.ReconcileAllAsync()).AppLists.ShouldBe(1, "the accepted removal is checked against the iPad's app list");
        await newer.PollAsync();
        await Poll.UntilAsync(async () => !await HasAppAsync(newerId, "org.khanacademy.Khan-kids"));
        await Reconciler.ReconcileAllAsync();
        (await StateAsync(newerId)).ShouldBe("removed");
    }

    // The iPad answers DeviceInformation (IsSupervised), so the server knows it is supervised: Homeroom did not
    // install Khan Kids, and only a supervised iPad lets MDM block (and try to remove) an app it did not install.
    private async Task SupervisionLearnedAsync(VirtualAppleDevice ipad, Guid id)
    {
        using (var ping = await Host.PostJsonAsync("/api/commands", new { kind = "ping", deviceIds = new[] { id } }))
        {
            ping.StatusCode.ShouldBe(HttpStatusCode.Accepted, await ping.Content.ReadAsStringAsync());
        }

        await ipad.PollAsync();
        await using var db = await Host.GetService<IDbContextFactory<HomeroomDbContext>>().CreateDbContextAsync();
        (await db.AppleDevices.SingleAsync(a => a.DeviceId == id)).Supervised.ShouldBeTrue();
    }

    // Polls until the iPad has installed a policy profile whose blocked apps are exactly these.
    private async Task ProfileAsync(VirtualAppleDevice ipad, string[] blocked)
    {
        await Poll.UntilAsync(async () =>
        {
            await ipad.PollAsync();
            return ipad.BlockedApps.SequenceEqual(blocked);
        }, TimeSpan.FromSeconds(60)); // a chain of polls (facts, the distributor's pass, the profile); slow on a loaded CI machine
        ((List<object>)LastProfile(ipad)["blockedAppBundleIDs"]).ShouldBe(blocked);
    }

    private static Dictionary<string, object> LastProfile(VirtualAppleDevice ipad) => Restrictions(ipad.Received.Last(r => r.RequestType == "InstallProfile").Command);

    private static Dictionary<string, object> Restrictions(Dictionary<string, object> installProfile) =>
        ((List<object>)Homeroom.Contracts.Apple.PropertyList.ReadDictionary((byte[])installProfile["Payload"])["PayloadContent"])
            .Cast<Dictionary<string, object>>().Single(p => (string)p["PayloadType"] == "com.apple.applicationaccess");

    // Passes and polls until the iPad's own list shows the app and the status says installed.
    private async Task InstalledAsync(VirtualAppleDevice ipad, Guid id, string? name = null)
    {
        (await Reconciler.ReconcileAllAsync()).AppLists.ShouldBe(1);
        await ipad.PollAsync();
        ipad.InstalledApps.ShouldContain(a => a.Identifier == BundleId);
        await Poll.UntilAsync(async () => await HasAppAsync(id, BundleId));
        await Reconciler.ReconcileAllAsync();
        var status = (await StatusesAsync(id)).EnumerateArray().Single(s => name is null || s.GetProperty("name").GetString() == name);
        status.GetProperty("state").GetString().ShouldBe("installed");
        status.GetProperty("reason").ValueKind.ShouldBe(JsonValueKind.Null);
    }

    private async Task<(VirtualAppleDevice Device, Guid Id)> EnrolledAsync(int refuseInstallEvery, bool supervised = true, string osVersion = "18.1")
    {
        var n = _devices.Count + 1;
        var device = new VirtualAppleDevice(
            Host.Client, Host.BaseAddress, $"00008030-{n:D4}C2D3E0C38802E", $"DMPI{n:D6}", clock: Host.Clock, installDelay: TimeSpan.FromMinutes(2),
            refuseInstallEvery: refuseInstallEvery, supervised: supervised, osVersion: osVersion);
        _devices.Add(device);
        device.AppStore[StoreId] = (BundleId, "Fractions");
        await device.InstallEnrollmentProfileAsync(await Host.CreateTokenAsync());
        using var authenticate = await device.AuthenticateAsync();
        authenticate.StatusCode.ShouldBe(HttpStatusCode.OK, await authenticate.Content.ReadAsStringAsync());
        using var token = await device.TokenUpdateAsync();
        token.StatusCode.ShouldBe(HttpStatusCode.OK);
        var id = (await Host.GetJsonAsync<JsonElement>($"/api/devices?q={device.Serial}")).GetProperty("items")[0].GetProperty("id").GetGuid();

        // A new device first gets its policy as a configuration profile.
        await Poll.UntilAsync(async () => await device.PollAsync() > 0 || device.Received.Count > 0);
        device.Received.ShouldContain(r => r.RequestType == "InstallProfile");
        device.Received.Clear();
        return (device, id);
    }

    private async Task<Guid> CreateAppAsync(string name, string adamId, string bundleId) =>
        (await Host.PostJsonAsync<JsonElement>("/api/apps", new { name, category = "education", appleAdamId = adamId, appleBundleId = bundleId }))
            .GetProperty("id").GetGuid();

    private async Task AssignAsync(Guid app, string intent) =>
        await Host.PostJsonAsync<JsonElement>($"/api/apps/{app}/assignments", new { intent, level = "district" });

    private async Task<JsonElement> StatusesAsync(Guid device) => await Host.GetJsonAsync<JsonElement>($"/api/devices/{device}/apps/status");

    private async Task<string?> StateAsync(Guid device) => (await StatusesAsync(device))[0].GetProperty("state").GetString();

    private async Task<bool> HasAppAsync(Guid device, string bundleId)
    {
        await using var db = await Host.GetService<IDbContextFactory<HomeroomDbContext>>().CreateDbContextAsync();
        return await db.DeviceApps.AnyAsync(a => a.DeviceId == device && a.Source == DeviceAppSources.Device && a.AppId == bundleId);
    }
}

public sealed class AppInstallEndToEndSqliteTests() : AppInstallEndToEndTests(DatabaseProvider.Sqlite);

public sealed class AppInstallEndToEndPostgresTests() : AppInstallEndToEndTests(DatabaseProvider.Postgres);
