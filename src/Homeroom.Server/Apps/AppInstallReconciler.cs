using System.Runtime.CompilerServices;
using Homeroom.Contracts.Agents;
using Homeroom.Contracts.Enrollment;
using Homeroom.Rules.Apps;
using Homeroom.Rules.Commands;
using Homeroom.Server.Accounts;
using Homeroom.Server.Commands;
using Homeroom.Server.Data;
using Homeroom.Server.Devices;
using Homeroom.Server.Hosting;
using Homeroom.Server.Hosting.Cluster;
using Homeroom.Server.Policies;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace Homeroom.Server.Apps;

/// <summary>What one pass changed.</summary>
/// <param name="Rows">Status rows the pass looked at.</param>
/// <param name="Installs">Devices asked to install an app.</param>
/// <param name="Removals">Devices asked to remove an app.</param>
/// <param name="AppLists">Devices asked for their app list (after an accepted install or removal).</param>
/// <param name="Dropped">Rows removed because nothing wants them any more (their licences given back).</param>
public sealed record AppReconcileResult(int Rows, int Installs, int Removals, int AppLists, int Dropped);

/// <summary>
/// Brings every device's app status rows (<see cref="AppDeviceStatus"/>) in line with its effective apps,
/// once a <see cref="AppInstallOptions.ReconcileInterval"/> and at once when an assignment changes
/// (<see cref="Nudge"/>). Per platform (<see cref="AppStatusPlans"/>): an iPad's or MDM-enrolled Mac's required app takes a
/// licence where the app has them (<see cref="AppLicenceLedger"/>, then <see cref="IVolumePurchaseLicences"/>),
/// then gets <c>InstallApplication</c> through the command queue and is installing until the device's
/// app list shows it; a refused command or licence request is retried with doubling back-off (attempts
/// and next attempt stored); a blocked app, or one no longer assigned, gets <c>RemoveApplication</c>
/// where installed (on a Mac only where MDM installed it: macOS removes nothing else and blocks no App Store app).
/// Windows and Linux desktops, and Macs that run the desktop agent rather than MDM (with the entry's Mac package),
/// get <c>installPackage</c> and <c>removePackage</c> through their agent, which reports its installed packages.
/// A Chromebook's required extension is installed or missing by the extension's own
/// report. Other platforms say why nothing acts. Rows nothing wants any more (app unassigned, device
/// retired, revoked or gone) give their licence back and go.
/// </summary>
public sealed class AppInstallReconciler(
    IDbContextFactory<HomeroomDbContext> dbFactory,
    AppLicenceLedger ledger,
    IVolumePurchaseLicences volume,
    IssueCommand issueCommand,
    IOptions<AppInstallOptions> options,
    JobLeases leases,
    TimeProvider time,
    ILogger<AppInstallReconciler> logger)
    : PeriodicTask(options.Value.ReconcileInterval, leases, time, logger)
{
    public const int MaxReasonLength = 1_000;

    private readonly CancellationTokenSource _stopping = new();
    private int _nudged;

    private sealed record DeviceFacts(Guid Id, DevicePlatform Platform, string Serial, string? OsVersion);

    private sealed record CommandState(DeliveryStatus Status, string? Error, string Kind);

    // Agent: the install or removal goes to the desktop agent as a package command, not to Apple MDM. Enterprise: an MDM Mac's
    // Mac package (InstallEnterpriseApplication; its app known by the package's bundle id). Reason: what the row says while it waits.
    private sealed record AppleWork(
        AppDeviceStatus Row, CatalogApp App, DeviceFacts Device, bool Install, bool Unassigned, bool Agent = false, bool Enterprise = false, string? Reason = null)
    {
        // The bundle id the device's app lists name the app by.
        public string BundleId => Enterprise ? App.MacAppBundleId! : App.AppleBundleId!;
    }

    // A Windows, Linux or agent-managed Mac desktop's row, carried out by the desktop agent with its platform's package identity.
    private sealed record AgentWork(AppDeviceStatus Row, CatalogApp App, DeviceFacts Device, string Package, bool Install);

    protected override async Task RunOnceAsync(CancellationToken cancellationToken) => await ReconcileAllAsync(cancellationToken);

    /// <summary>Whether a nudged pass has not started yet (<see cref="Nudge"/>); once false, awaiting <see cref="ReconcileAllAsync"/> outlasts it.</summary>
    public bool NudgePending => Volatile.Read(ref _nudged) == 1;

    /// <summary>Starts a pass soon (an assignment or the catalog changed); passes started meanwhile fold into one.</summary>
    public void Nudge()
    {
        if (Interlocked.Exchange(ref _nudged, 1) == 1 || _stopping.IsCancellationRequested)
        {
            return;
        }

        _ = Task.Run(async () =>
        {
            try
            {
                await ReconcileAllAsync(_stopping.Token);
            }
            catch (Exception ex) when (ex is not OperationCanceledException && ex is not ObjectDisposedException)
            {
                AppsLog.NudgeFailed(Logger, ex);
            }
        });
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await _stopping.CancelAsync();
        await base.StopAsync(cancellationToken);
    }

    public override void Dispose()
    {
        _stopping.Dispose();
        base.Dispose();
        GC.SuppressFinalize(this);
    }

    /// <summary>One pass over every device; never at the same time as another pass of this server.</summary>
    public Task<AppReconcileResult> ReconcileAllAsync(CancellationToken cancellationToken = default) =>
        RunExclusiveAsync(async ct =>
        {
            Interlocked.Exchange(ref _nudged, 0);
            return await PassAsync(ct);
        }, cancellationToken);

    private async Task<AppReconcileResult> PassAsync(CancellationToken cancellationToken)
    {
        var settings = options.Value;
        var now = Time.GetUtcNow().UtcDateTime;
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var assignments = await AppAssignmentDirectory.LoadAsync(db, cancellationToken);
        var rows = await db.Set<AppDeviceStatus>().ToDictionaryAsync(r => (r.DeviceId, r.AppId), cancellationToken);
        if (assignments.Count == 0 && rows.Count == 0)
        {
            return new(0, 0, 0, 0, 0);
        }

        var apps = await db.Set<CatalogApp>().AsNoTracking().ToDictionaryAsync(a => a.Id, cancellationToken);
        var devices = await db.Devices.AsNoTracking().Manageable().Select(d => new DeviceFacts(d.Id, d.Platform, d.Serial, d.OsVersion)).ToDictionaryAsync(d => d.Id, cancellationToken);
        var mdm = await db.AppleDevices.AsNoTracking().Where(a => a.CheckedOutAt == null).ToDictionaryAsync(a => a.DeviceId, a => a.Supervised, cancellationToken);
        var index = new AppAssignmentIndex(assignments);
        // Commands before app lists: an Apple list command is marked done only once its list is stored (MdmQueue).
        var commands = await CommandsAsync(db, rows.Values, cancellationToken);
        var installed = await InstalledAsync(db, apps.Values, cancellationToken);

        var wanted = new HashSet<(Guid, Guid)>();
        var effectiveApps = new Dictionary<Guid, IReadOnlyDictionary<Guid, EffectiveApp>>();
        var apple = new List<AppleWork>();
        var agent = new List<AgentWork>();
        foreach (var (scope, _) in await DeviceScopes.LoadAsync(db, null, _ => [], cancellationToken))
        {
            if (!devices.TryGetValue(scope.DeviceId, out var device))
            {
                continue;
            }

            var effective = index.Resolve(scope);
            effectiveApps[device.Id] = effective;
            foreach (var e in effective.Values)
            {
                if (!apps.TryGetValue(e.AppId, out var app) || AppStatusPlans.For(device.Platform, app.Identities, e.Intent) is not { } plan)
                {
                    continue;
                }

                wanted.Add((device.Id, app.Id));
                if (!rows.TryGetValue((device.Id, app.Id), out var row))
                {
                    row = new AppDeviceStatus { DeviceId = device.Id, AppId = app.Id, Intent = e.Intent, State = AppInstallState.Pending, UpdatedAt = now };
                    db.Add(row);
                    rows[(device.Id, app.Id)] = row;
                }
                else if (row.Intent != e.Intent)
                {
                    // A new intent starts afresh: no back-off carried over from the old one.
                    row.Intent = e.Intent;
                    StartAfresh(row);
                    Set(row, AppInstallState.Pending, null, now);
                }

                // An MDM Mac and an entry whose Mac package is all it has for Macs: Apple MDM installs the package
                // (InstallEnterpriseApplication) and follows it by the app bundle's id, like an App Store app.
                var enterprise = plan.Route is AppRoute.AgentInstall or AppRoute.AgentRemove && device.Platform == DevicePlatform.MacOS && mdm.ContainsKey(device.Id);
                var route = !enterprise ? plan.Route : plan.Route == AppRoute.AgentInstall ? AppRoute.AppleInstall : AppRoute.AppleRemove;
                var bundleId = enterprise ? app.MacAppBundleId : app.AppleBundleId;
                switch (route)
                {
                    case AppRoute.AppleInstall or AppRoute.AppleRemove when !mdm.ContainsKey(device.Id) && device.Platform == DevicePlatform.MacOS && app.MacPackageId is not null:
                        // A Mac without MDM runs the desktop agent: the entry's Mac package goes there instead of the App Store app.
                        agent.Add(new AgentWork(row, app, device, app.MacPackageId, plan.Route == AppRoute.AppleInstall));
                        break;
                    case AppRoute.AppleInstall or AppRoute.AppleRemove when enterprise && bundleId is null:
                        Set(row, AppInstallState.NotApplicable, AppStatusPlans.MacMdmNoBundleId, now);
                        break;
                    case AppRoute.AppleInstall or AppRoute.AppleRemove when !mdm.ContainsKey(device.Id):
                        Set(row, AppInstallState.NotApplicable, device.Platform == DevicePlatform.MacOS ? AppStatusPlans.MacNotMdm : AppStatusPlans.NotMdm, now);
                        break;
                    case AppRoute.AppleRemove when device.Platform == DevicePlatform.MacOS && row.Managed != true && installed.Contains((device.Id, DeviceAppSources.Device, bundleId!)):
                        // A Mac, supervised or not: RemoveApplication removes only the apps MDM manages, and macOS has no
                        // blocked-apps restriction, so a copy installed another way is out of Homeroom's reach.
                        Set(row, AppInstallState.NotApplicable, AppStatusPlans.MacUnmanaged, now);
                        break;
                    case AppRoute.AppleRemove when !mdm[device.Id] && row.Managed != true && installed.Contains((device.Id, DeviceAppSources.Device, bundleId!)):
                        // Apple ignores blocked-app restrictions on an unsupervised iPad, and MDM removes only the apps it manages there.
                        Set(row, AppInstallState.NotApplicable, AppStatusPlans.UnsupervisedUnmanaged, now);
                        break;
                    case AppRoute.AppleRemove when device.Platform != DevicePlatform.MacOS && row.Managed != true && installed.Contains((device.Id, DeviceAppSources.Device, bundleId!))
                        && !AppStatusPlans.MdmRemovesUnmanagedApps(mdm[device.Id], device.OsVersion):
                        // A supervised iPad before iPadOS 26 refuses to remove an app MDM did not install; its restrictions
                        // (blockedAppBundleIDs, from the same catalog) keep it from opening instead.
                        StartAfresh(row);
                        Set(row, AppInstallState.Blocked, AppStatusPlans.SupervisedUnmanaged, now);
                        break;
                    case AppRoute.NotApplicable:
                        Set(row, AppInstallState.NotApplicable, plan.Reason, now);
                        break;
                    case AppRoute.ChromeReport:
                        var id = app.ChromeExtensionId!;
                        if (installed.Contains((device.Id, DeviceAppSources.Chrome, id)))
                        {
                            Set(row, AppInstallState.Installed, null, now);
                        }
                        else
                        {
                            Set(row, AppInstallState.Missing, AppStatusPlans.ChromeMissing(id), now);
                        }

                        break;
                    case AppRoute.AgentInstall or AppRoute.AgentRemove:
                        agent.Add(new AgentWork(row, app, device, AgentPackages.For(device.Platform, app.Identities)!, plan.Route == AppRoute.AgentInstall));
                        break;
                    default:
                        apple.Add(new AppleWork(row, app, device, route == AppRoute.AppleInstall, Unassigned: false, Enterprise: enterprise));
                        break;
                }
            }
        }

        // Rows nothing wants: an iPad's or Mac's app Homeroom installed and that is no longer assigned at all is removed
        // first (ManagementFlags 1 made it Homeroom's to remove); every other row gives its licence back and goes.
        var dropped = new List<(AppDeviceStatus Row, DeviceFacts? Device)>();
        foreach (var row in rows.Values.Where(r => !wanted.Contains((r.DeviceId, r.AppId))))
        {
            var device = devices.GetValueOrDefault(row.DeviceId);
            var app = apps.GetValueOrDefault(row.AppId);
            // A required app an MDM Mac got as a package (the entry has no App Store id) is known by its package's bundle id.
            var enterprise = device?.Platform == DevicePlatform.MacOS && app is { AppleAdamId: null, MacPackageId: not null, MacAppBundleId: not null };
            if (device is not null && (enterprise || app?.AppleBundleId is not null) && IsApple(device.Platform) && mdm.ContainsKey(device.Id)
                && row.Intent == AppIntent.Required && row.State is AppInstallState.Installed or AppInstallState.Installing or AppInstallState.Removing or AppInstallState.Failed
                && effectiveApps.TryGetValue(device.Id, out var effective) && !effective.ContainsKey(app!.Id))
            {
                apple.Add(new AppleWork(row, app!, device, Install: false, Unassigned: true, Enterprise: enterprise));
            }
            else
            {
                dropped.Add((row, device));
            }
        }

        try
        {
            await db.SaveChangesAsync(cancellationToken);
        }
        catch (DbUpdateException ex)
        {
            // Two servers adding the same device's rows: one wins, the other's next pass carries on from its rows.
            AppsLog.PassConflict(Logger, ex);
            return new(rows.Count, 0, 0, 0, 0);
        }

        // Licences of rows that go are free for the devices below in this same pass.
        foreach (var (row, device) in dropped)
        {
            await GiveBackAsync(row, apps.GetValueOrDefault(row.AppId), device, cancellationToken);
        }

        if (dropped.Count > 0)
        {
            foreach (var fresh in await db.Set<CatalogApp>().AsNoTracking().Select(a => new { a.Id, a.LicensesInUse }).ToListAsync(cancellationToken))
            {
                if (apps.TryGetValue(fresh.Id, out var app))
                {
                    app.LicensesInUse = fresh.LicensesInUse;
                }
            }
        }

        var droppedEarly = dropped.Count;
        var installs = new List<AppleWork>();
        var removals = new List<AppleWork>();
        var lists = new List<AppleWork>();
        foreach (var work in apple)
        {
            await StepAsync(work, installed, commands, installs, removals, lists, dropped, now, cancellationToken);
        }

        var reportsApps = agent.Count == 0 ? [] : await DevicesReportingAppsAsync(db, agent.Select(w => w.Device.Id), cancellationToken);
        foreach (var work in agent)
        {
            AgentStep(work, installed, reportsApps, commands, installs, removals, now);
        }

        var budget = new StrongBox<int>(settings.MaxCommandsPerPass);
        // Apple MDM (iPads, iPhones and Macs) takes App Store commands; Windows, Linux and Mac desktops take package commands from their agent.
        var apples = (IEnumerable<AppleWork> w) => w.Where(x => !x.Agent).ToList();
        var desktops = (IEnumerable<AppleWork> w) => w.Where(x => x.Agent).ToList();
        var sentInstalls = await SendAsync(apples(installs).Where(w => !w.Enterprise).ToList(), CommandKinds.InstallApp, w => new Dictionary<string, string> { ["appStoreId"] = w.App.AppleAdamId! },
            AppInstallState.Installing, budget, now, cancellationToken);
        sentInstalls += await SendAsync(apples(installs).Where(w => w.Enterprise).ToList(), CommandKinds.InstallEnterpriseApp, EnterpriseArguments, AppInstallState.Installing, budget, now, cancellationToken);
        var sentRemovals = await SendAsync(apples(removals), CommandKinds.RemoveApp, w => new Dictionary<string, string> { ["bundleId"] = w.BundleId },
            AppInstallState.Removing, budget, now, cancellationToken);
        sentInstalls += await SendAsync(desktops(installs), CommandKinds.InstallPackage, w => PackageArguments(w, install: true), AppInstallState.Installing, budget, now, cancellationToken);
        sentRemovals += await SendAsync(desktops(removals), CommandKinds.RemovePackage, w => PackageArguments(w, install: false), AppInstallState.Removing, budget, now, cancellationToken);
        var sentLists = await SendListsAsync(lists, now, cancellationToken);

        foreach (var (row, device) in dropped.Skip(droppedEarly))
        {
            await GiveBackAsync(row, apps.GetValueOrDefault(row.AppId), device, cancellationToken);
        }

        foreach (var (row, _) in dropped)
        {
            db.Remove(row);
        }

        await db.SaveChangesAsync(cancellationToken);
        AppsLog.Pass(Logger, rows.Count, sentInstalls, sentRemovals, sentLists, dropped.Count);
        return new(rows.Count, sentInstalls, sentRemovals, sentLists, dropped.Count);
    }

    // InstallEnterpriseApplication's arguments: the catalog's Mac package (the manifest is built from them when the Mac fetches it).
    private static Dictionary<string, string> EnterpriseArguments(AppleWork work) => new()
    {
        ["package"] = work.App.MacPackageId!, ["packageUrl"] = work.App.MacPackageUrl!, ["sha256"] = work.App.MacPackageSha256!, ["bundleId"] = work.App.MacAppBundleId!,
        ["name"] = work.App.Name,
    };

    // The package command's arguments: the platform's package identity; for a Mac, where to download the package and its
    // hash (installs), and the app bundle it installs (both), since a Mac has no repository that knows the package.
    private static Dictionary<string, string> PackageArguments(AppleWork work, bool install)
    {
        var arguments = new Dictionary<string, string> { ["package"] = AgentPackages.For(work.Device.Platform, work.App.Identities)! };
        if (work.Device.Platform == DevicePlatform.MacOS)
        {
            if (install)
            {
                arguments["packageUrl"] = work.App.MacPackageUrl!;
                arguments["sha256"] = work.App.MacPackageSha256!;
            }

            if (work.App.MacAppPath is { } path)
            {
                arguments["appPath"] = path;
            }

            if (work.App.MacAppBundleId is { } bundleId)
            {
                arguments["bundleId"] = bundleId;
            }
        }

        return arguments;
    }

    // One iPad's or Mac's row: read what its last command and the device's app list say, then decide what to send.
    private async Task StepAsync(
        AppleWork work, HashSet<(Guid, string, string)> installed, Dictionary<(Guid, Guid), CommandState> commands,
        List<AppleWork> installs, List<AppleWork> removals, List<AppleWork> lists, List<(AppDeviceStatus, DeviceFacts?)> dropped,
        DateTime now, CancellationToken cancellationToken)
    {
        var (row, app, device, install, unassigned, _, enterprise, _) = work;
        // The device's app list, or Apple's ManagedApplicationList (which said Managed: the row is installed and managed).
        var listed = installed.Contains((device.Id, DeviceAppSources.Device, work.BundleId));
        var isInstalled = listed || (install && row.State == AppInstallState.Installed && row.Managed == true);
        var waiting = install ? AppInstallState.Installing : AppInstallState.Removing;
        if (enterprise && install)
        {
            // A package: the app list names its app bundle, never the package, and the old version stays listed while an update
            // installs. It is installed only where the hash the Mac confirmed is the catalog's; the confirmation is Apple's
            // Managed for the app after the Mac acknowledged the install (AppleManagedApps).
            isInstalled &= row.InstalledSha256 == app.MacPackageSha256;
        }

        if (!install && row.HoldsLicence)
        {
            // A blocked or unassigned app needs no licence: give it back before anything else.
            await GiveBackAsync(row, app, device, cancellationToken);
        }

        if (isInstalled == install)
        {
            // Done: the device's own app list agrees.
            if (unassigned)
            {
                dropped.Add((row, device));
                return;
            }

            StartAfresh(row);
            if (install)
            {
                // Homeroom's install (ManagementFlags 1) made it managed; the reason may carry Apple's UpdateRejected.
                if (row.State == AppInstallState.Installing)
                {
                    row.Managed = true;
                }

                Set(row, AppInstallState.Installed, row.State == AppInstallState.Installed ? row.Reason : null, now);
            }
            else
            {
                row.Managed = false;
                row.InstalledSha256 = null;
                Set(row, AppInstallState.Removed, null, now);
            }

            return;
        }

        if (row.State == waiting && row.CommandId is { } commandId)
        {
            var verb = install ? "install" : "removal";
            switch (commands.GetValueOrDefault((commandId, device.Id)))
            {
                case null or { Status: DeliveryStatus.Expired }:
                    Fail(row, $"The {verb} waited longer than its time to live for the device to check in.{Kept(row, enterprise && install && listed)}", now);
                    break;
                case { Status: DeliveryStatus.Failed } failed when enterprise && install:
                    // The Mac checks the package against the manifest's hash (and its signature) before installing anything.
                    Fail(row, $"The Mac refused the package {app.MacPackageId}: {failed.Error ?? "no reason given"}{Kept(row, listed)}", now);
                    break;
                case { Status: DeliveryStatus.Failed } failed when install && device.Platform == DevicePlatform.MacOS:
                    // Apple's refusal on a Mac rarely says why (its RejectionReason is always "Other"): name the likely cause.
                    Fail(row, $"The Mac refused the install: {failed.Error ?? "no reason given"} {AppStatusPlans.MacNoStoreVersion}", now);
                    break;
                case { Status: DeliveryStatus.Failed } failed:
                    Fail(row, $"The device refused the {verb}: {failed.Error ?? "no reason given"}", now);
                    break;
                case { Status: DeliveryStatus.Succeeded } when row.NextAttemptAt is null || row.NextAttemptAt <= now:
                    // Accepted (or the last app list still disagreed): ask for the app list again.
                    lists.Add(work);
                    break;
            }

            return;
        }

        if (row.NextAttemptAt is { } next && next > now)
        {
            return; // Backing off.
        }

        // Licences are Apple's volume-purchase licences of App Store apps; a package takes none.
        if (install && !enterprise && app.LicensesPurchased is { } purchased && !row.HoldsLicence && !await TakeLicenceAsync(row, app, device, purchased, now, cancellationToken))
        {
            return;
        }

        (install ? installs : removals).Add(enterprise && install ? work with { Reason = UpdateReason(row, app) } : work);
    }

    // A licence for the device, locally then (where connected) from Apple; false with the row's status set when there is none.
    private async Task<bool> TakeLicenceAsync(AppDeviceStatus row, CatalogApp app, DeviceFacts device, int purchased, DateTime now, CancellationToken cancellationToken)
    {
        var noLicence = $"All {purchased} licence(s) are in use: no install was attempted. Unassign the app from a device that does not need it, or buy more.";
        if (app.LicensesInUse >= purchased)
        {
            Set(row, AppInstallState.NoLicence, noLicence, now);
            return false;
        }

        switch (await ledger.TakeAsync(row.DeviceId, row.AppId, cancellationToken))
        {
            case LicenceTake.NoLicence or LicenceTake.NotWanted:
                Set(row, AppInstallState.NoLicence, noLicence, now);
                return false;
            case LicenceTake.AlreadyHeld:
                return true;
        }

        var answer = await volume.AssignAsync(app.AppleAdamId!, device.Serial, cancellationToken);
        if (answer.Outcome == VolumeLicenceOutcome.Done)
        {
            return true;
        }

        await ledger.ReleaseAsync(row.DeviceId, row.AppId, cancellationToken);
        switch (answer.Outcome)
        {
            case VolumeLicenceOutcome.NoLicence:
                Set(row, AppInstallState.NoLicence, answer.Reason ?? "Apple has no licence of this app left to assign: no install was attempted.", now);
                break;
            case VolumeLicenceOutcome.RetryLater:
                Retry(row, AppInstallState.Pending, $"Apple's licence service asked to try later: {answer.Reason ?? "busy"}", now);
                break;
            default:
                Retry(row, AppInstallState.Failed, $"The licence could not be assigned: {answer.Reason ?? "refused"}", now);
                break;
        }

        return false;
    }

    private async Task GiveBackAsync(AppDeviceStatus row, CatalogApp? app, DeviceFacts? device, CancellationToken cancellationToken)
    {
        if (row.HoldsLicence && await ledger.ReleaseAsync(row.DeviceId, row.AppId, cancellationToken) && app?.AppleAdamId is { } adamId && device is not null)
        {
            // A refusal here leaves Apple's assignment in place; the local count is what limits installs.
            await volume.ReleaseAsync(adamId, device.Serial, cancellationToken);
        }
    }

    private async Task<int> SendAsync(
        List<AppleWork> work, string kind, Func<AppleWork, Dictionary<string, string>> arguments, AppInstallState state, StrongBox<int> budget, DateTime now, CancellationToken cancellationToken)
    {
        var sent = 0;
        // One command per app and platform: Windows and Linux desktops name the same app by different packages.
        foreach (var byApp in work.GroupBy(w => (w.App.Id, w.Device.Platform)))
        {
            var batch = byApp.Take(Math.Max(budget.Value, 0)).ToList();
            if (batch.Count == 0)
            {
                break;
            }

            budget.Value -= batch.Count;
            sent += await IssueAsync(batch, kind, arguments(batch[0]), state, now, cancellationToken);
        }

        return sent;
    }

    private async Task<int> SendListsAsync(List<AppleWork> work, DateTime now, CancellationToken cancellationToken)
    {
        if (work.Count == 0)
        {
            return 0;
        }

        var sent = await IssueAsync(work.DistinctBy(w => w.Row).ToList(), CommandKinds.ListApps, null, state: null, now, cancellationToken);
        var installing = work.Where(w => w.Install).Select(w => w.Device.Id).Distinct().ToList();
        if (sent > 0 && installing.Count > 0)
        {
            // Apple's own status of each managed install (prompting, declined, failed, managed), applied by AppleManagedApps.
            try
            {
                await issueCommand.ExecuteAsync(StaffScope.System, CommandKinds.ListManagedApps, null, new CommandTarget(installing, null, null), options.Value.CommandTimeToLive, cancellationToken);
            }
            catch (RequestValidationException ex)
            {
                AppsLog.CommandRefused(Logger, CommandKinds.ListManagedApps, work[0].App.Id, installing.Count, string.Join(" ", ex.Errors.Values.SelectMany(v => v)));
            }
        }

        return sent;
    }

    // One command for every device of the batch; each row waits for its own delivery.
    private async Task<int> IssueAsync(List<AppleWork> batch, string kind, Dictionary<string, string>? arguments, AppInstallState? state, DateTime now, CancellationToken cancellationToken)
    {
        IssuedCommand issued;
        try
        {
            var target = new CommandTarget([.. batch.Select(w => w.Device.Id).Distinct()], null, null);
            issued = kind is CommandKinds.InstallPackage or CommandKinds.RemovePackage or CommandKinds.InstallEnterpriseApp
                ? await issueCommand.ExecuteCatalogPackageAsync(kind, arguments!, target, options.Value.CommandTimeToLive, cancellationToken)
                : await issueCommand.ExecuteAsync(StaffScope.System, kind, arguments, target, options.Value.CommandTimeToLive, cancellationToken);
        }
        catch (RequestValidationException ex)
        {
            // A device retired between reading and sending: the next pass drops it; the others try again then.
            var reason = string.Join(" ", ex.Errors.Values.SelectMany(v => v));
            AppsLog.CommandRefused(Logger, kind, batch[0].App.Id, batch.Count, reason);
            return 0;
        }

        foreach (var w in batch)
        {
            w.Row.CommandId = issued.Command.Id;
            if (state is { } waiting)
            {
                if (waiting == AppInstallState.Installing && arguments?.GetValueOrDefault("sha256") is { } sha256)
                {
                    // The package this install is for: installed once the device confirms it (a catalog change meanwhile is installed next).
                    w.Row.PackageSha256 = sha256;
                }

                w.Row.NextAttemptAt = null;
                Set(w.Row, waiting, w.Reason, now);
            }
            else
            {
                // Ask again after a while if the list still disagrees (an install can take minutes to download).
                w.Row.NextAttemptAt = now + options.Value.AppListInterval;
                w.Row.UpdatedAt = now;
            }
        }

        return batch.Count;
    }

    // One desktop row: the agent's answer to the last install or removal decides first; else the inventory (where the
    // agent lists packages) says whether anything is left to do. An agent that lists no packages (the Windows build)
    // is taken at its word: its succeeded command is the evidence.
    private void AgentStep(
        AgentWork work, HashSet<(Guid, string, string)> installed, HashSet<Guid> reportsApps, Dictionary<(Guid, Guid), CommandState> commands,
        List<AppleWork> installs, List<AppleWork> removals, DateTime now)
    {
        var (row, app, device, package, install) = work;
        var waiting = install ? AppInstallState.Installing : AppInstallState.Removing;
        var done = install ? AppInstallState.Installed : AppInstallState.Removed;
        var listed = reportsApps.Contains(device.Id)
            ? installed.Contains((device.Id, DeviceAppSources.Device, package))
            : row.State == AppInstallState.Installed || (!install && row.State != AppInstallState.Removed);
        // A Mac package is installed only as the catalog has it now: a new URL's package or hash is installed again over the old.
        var mac = device.Platform == DevicePlatform.MacOS;
        if (row.State == waiting && row.CommandId is { } commandId)
        {
            var verb = install ? "install" : "removal";
            var kept = Kept(row, mac && install && listed);
            switch (commands.GetValueOrDefault((commandId, device.Id)))
            {
                case null or { Status: DeliveryStatus.Expired }:
                    Fail(row, $"The {verb} of {package} waited longer than its time to live for the agent to connect.{kept}", now);
                    break;
                case { Status: DeliveryStatus.Failed } failed:
                    Fail(row, $"The agent could not carry out the {verb} of {package}: {failed.Error ?? "no reason given"}{kept}", now);
                    break;
                case { Status: DeliveryStatus.Succeeded }:
                    StartAfresh(row);
                    row.InstalledSha256 = install && mac ? row.PackageSha256 : null;
                    Set(row, done, null, now);
                    break;
            }

            return;
        }

        var stale = install && mac && row.InstalledSha256 != app.MacPackageSha256;
        var isInstalled = listed && !stale;
        if (row.State == done && now - row.UpdatedAt < options.Value.AppListInterval && !stale)
        {
            return; // Just done: the agent's fresh inventory may still be on its way to the database.
        }

        if (isInstalled == install)
        {
            StartAfresh(row);
            Set(row, done, null, now);
            return;
        }

        if (row.NextAttemptAt is { } next && next > now)
        {
            return; // Backing off.
        }

        (install ? installs : removals).Add(new AppleWork(row, app, device, install, Unassigned: false, Agent: true, Reason: mac && install ? UpdateReason(row, app) : null));
    }

    // The devices whose agents list their installed packages (they have at least one app from their own OS list).
    private static async Task<HashSet<Guid>> DevicesReportingAppsAsync(HomeroomDbContext db, IEnumerable<Guid> deviceIds, CancellationToken cancellationToken)
    {
        var result = new HashSet<Guid>();
        foreach (var chunk in deviceIds.Distinct().Chunk(500))
        {
            foreach (var id in await db.DeviceApps.AsNoTracking().Where(x => chunk.Contains(x.DeviceId) && x.Source == DeviceAppSources.Device)
                .Select(x => x.DeviceId).Distinct().ToListAsync(cancellationToken))
            {
                result.Add(id);
            }
        }

        return result;
    }

    // What a Mac package's install says while it waits: an update names the package it replaces.
    private static string? UpdateReason(AppDeviceStatus row, CatalogApp app) =>
        row.InstalledSha256 is { } old && old != app.MacPackageSha256 ? AppStatusPlans.MacPackageUpdating(old, app.MacPackageSha256!) : null;

    // After a failed update of a Mac package: the package installed before is still there.
    private static string Kept(AppDeviceStatus row, bool stillListed) =>
        stillListed && row.InstalledSha256 is { } old ? " " + AppStatusPlans.MacPackageKept(old) : "";

    private static bool IsApple(DevicePlatform platform) => platform is DevicePlatform.IPadOS or DevicePlatform.IOS or DevicePlatform.MacOS;

    private void Fail(AppDeviceStatus row, string reason, DateTime now) => Retry(row, AppInstallState.Failed, reason, now);

    private void Retry(AppDeviceStatus row, AppInstallState state, string reason, DateTime now)
    {
        row.Attempts++;
        row.NextAttemptAt = now + AppRetrySchedule.Delay(row.Attempts, options.Value.FirstRetry, options.Value.MaxRetry);
        row.CommandId = null;
        Set(row, state, reason, now);
    }

    // No attempts counted, no back-off and no command awaited: a new intent, a final state, or an accepted command.
    private static void StartAfresh(AppDeviceStatus row)
    {
        row.Attempts = 0;
        row.NextAttemptAt = null;
        row.CommandId = null;
    }

    private static void Set(AppDeviceStatus row, AppInstallState state, string? reason, DateTime now)
    {
        reason = reason is { Length: > MaxReasonLength } ? reason[..MaxReasonLength] : reason;
        if (row.State != state || row.Reason != reason)
        {
            row.State = state;
            row.Reason = reason;
            row.UpdatedAt = now;
        }
    }

    // (device, source, app id) of every device app that is some catalog entry's bundle id (an App Store app's or a Mac package's app), extension id or package.
    private static async Task<HashSet<(Guid, string, string)>> InstalledAsync(HomeroomDbContext db, IEnumerable<CatalogApp> apps, CancellationToken cancellationToken)
    {
        var ids = apps.SelectMany(a => new[] { a.AppleBundleId, a.ChromeExtensionId, a.WindowsPackageId, a.LinuxPackage, a.MacPackageId, a.MacAppBundleId }).OfType<string>().Distinct().ToList();
        var installed = new HashSet<(Guid, string, string)>();
        foreach (var chunk in ids.Chunk(500))
        {
            foreach (var x in await db.DeviceApps.AsNoTracking().Where(x => chunk.Contains(x.AppId)).Select(x => new { x.DeviceId, x.Source, x.AppId }).ToListAsync(cancellationToken))
            {
                installed.Add((x.DeviceId, x.Source, x.AppId));
            }
        }

        return installed;
    }

    private static async Task<Dictionary<(Guid, Guid), CommandState>> CommandsAsync(HomeroomDbContext db, IEnumerable<AppDeviceStatus> rows, CancellationToken cancellationToken)
    {
        var ids = rows.Select(r => r.CommandId).OfType<Guid>().Distinct().ToList();
        var states = new Dictionary<(Guid, Guid), CommandState>();
        foreach (var chunk in ids.Chunk(1_000))
        {
            var found = await (
                from d in db.CommandDeliveries.AsNoTracking()
                join c in db.Commands.AsNoTracking() on d.CommandId equals c.Id
                where chunk.Contains(d.CommandId)
                select new { d.CommandId, d.DeviceId, d.Status, d.Error, c.Kind }).ToListAsync(cancellationToken);
            foreach (var x in found)
            {
                states[(x.CommandId, x.DeviceId)] = new CommandState(x.Status, x.Error, x.Kind);
            }
        }

        return states;
    }
}
