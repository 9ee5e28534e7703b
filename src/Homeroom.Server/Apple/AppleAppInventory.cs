using Homeroom.Contracts.Agents;
using Homeroom.Rules.Policies;
using Homeroom.Server.Accounts;
using Homeroom.Server.Activity;
using Homeroom.Server.Commands;
using Homeroom.Server.Data;
using Homeroom.Server.Hosting;
using Homeroom.Server.Hosting.Cluster;
using Homeroom.Server.Locations;
using Homeroom.Server.Policies;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace Homeroom.Server.Apple;

/// <summary>
/// An Apple device's InstalledApplicationList answer as <c>app.inventory</c> activity events, like the
/// Chrome extension's snapshots: one event per app, all dated when the answer came, numbered by the
/// server from the device's own activity sequence (an MDM device has no agent to number them), within
/// the device's activity budget, and only while its policy has <c>monitoring.activity</c> on. The app
/// list itself (DeviceApp rows) is kept whatever the policy says: it is device inventory.
/// </summary>
public sealed class AppleAppEvents(
    IDbContextFactory<HomeroomDbContext> dbFactory,
    ActivityWriter writer,
    ActivityBudget budget,
    SharedPolicyModel policies,
    ZoneMembership zones,
    TimeProvider time)
{
    /// <summary>Queues the events; returns how many (0 when the policy is off or the budget is spent).</summary>
    public async Task<int> RecordAsync(Guid deviceId, IReadOnlyList<InstalledApp> apps, DateTime answeredAt, CancellationToken cancellationToken)
    {
        if (apps.Count == 0)
        {
            return 0;
        }

        // The shared model, as the location and safety gates use: a district's daily answers do not each read every profile.
        var now = time.GetUtcNow();
        var model = await policies.GetAsync(now);
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var scopes = await DeviceScopes.LoadAsync(db, [deviceId], zones.InsideZones, cancellationToken);
        if (scopes.Count == 0)
        {
            return 0;
        }

        var scope = scopes[0].Scope;
        var effective = PolicyResolver.Resolve(model.Assignments, model.Profiles, scope, now, model.TimeZoneOf(scope.SchoolId));
        if (effective.Values.TryGetValue("monitoring.activity", out var on) && !on.GetValue<bool>())
        {
            return 0;
        }

        var allowed = budget.Take(deviceId, apps.Count);
        if (allowed == 0)
        {
            return 0;
        }

        // Reserve the sequence numbers in one statement; MDM answers of one device come one at a time.
        await db.Devices.Where(d => d.Id == deviceId).ExecuteUpdateAsync(s => s.SetProperty(d => d.ActivitySeq, d => d.ActivitySeq + allowed), cancellationToken);
        var last = await db.Devices.Where(d => d.Id == deviceId).Select(d => d.ActivitySeq).SingleAsync(cancellationToken);
        var at = new DateTimeOffset(DateTime.SpecifyKind(answeredAt, DateTimeKind.Utc));
        var events = apps.Take(allowed).Select((app, i) => new ActivityEvent(
            last - allowed + 1 + i, at, ActivityKinds.AppInventory, Title: Clip(app.Name), AppId: app.Id, Detail: Clip(app.Version))).ToList();
        await writer.EnqueueAsync(new ActivityBatch(deviceId, events, answeredAt), cancellationToken);
        return events.Count;
    }

    private static string? Clip(string? text) => text is { Length: > ProtocolLimits.MaxShortText } ? text[..ProtocolLimits.MaxShortText] : text;
}

/// <summary>
/// Asks every enrolled Apple device for its installed apps (<c>listApps</c>, InstalledApplicationList)
/// and its managed apps' status (<c>listManagedApps</c>, ManagedApplicationList) once a day, each device at its own minute of the day (from its id) so a district's devices are
/// spread over the day, and a newly enrolled device at the next look. Looks every
/// <see cref="AppleOptions.AppInventoryCheckInterval"/>, once across the cluster (a <see cref="PeriodicTask"/> under a
/// lease); what a device was last asked is read from the command history, so a restart neither repeats nor skips a day.
/// </summary>
public sealed class AppleAppInventorySchedule(
    IDbContextFactory<HomeroomDbContext> dbFactory,
    IssueCommand issue,
    IOptions<AppleOptions> options,
    IOptions<CommandOptions> commandOptions,
    JobLeases leases,
    TimeProvider time,
    ILogger<AppleAppInventorySchedule> logger) : PeriodicTask(options.Value.AppInventoryCheckInterval, leases, time, logger)
{
    /// <summary>How often each device is asked.</summary>
    public static readonly TimeSpan Every = TimeSpan.FromDays(1);

    protected override async Task RunOnceAsync(CancellationToken cancellationToken)
    {
        var asked = await AskDueAsync(cancellationToken);
        if (asked > 0)
        {
            AppleLog.AppInventoryAsked(Logger, asked);
        }
    }

    /// <summary>Asks the devices that are due; returns how many were asked.</summary>
    public async Task<int> AskDueAsync(CancellationToken cancellationToken)
    {
        var now = Time.GetUtcNow().UtcDateTime;
        List<Guid> due;
        await using (var db = await dbFactory.CreateDbContextAsync(cancellationToken))
        {
            var devices = await db.AppleDevices.AsNoTracking().Where(a => a.CheckedOutAt == null).Select(a => a.DeviceId).ToListAsync(cancellationToken);
            var since = now - (2 * Every);
            var lastAsked = await (
                from d in db.CommandDeliveries.AsNoTracking()
                join c in db.Commands.AsNoTracking() on d.CommandId equals c.Id
                where c.Kind == CommandKinds.ListApps && c.IssuedAt > since
                group c by d.DeviceId into g
                select new { DeviceId = g.Key, At = g.Max(c => c.IssuedAt) })
                .ToDictionaryAsync(x => x.DeviceId, x => x.At, cancellationToken);
            due = devices.Where(id => IsDue(id, lastAsked.TryGetValue(id, out var at) ? at : null, now)).ToList();
        }

        foreach (var chunk in due.Chunk(commandOptions.Value.MaxTargets))
        {
            await issue.ExecuteAsync(StaffScope.System, CommandKinds.ListApps, null, new CommandTarget(chunk, null, null), Every, cancellationToken);

            // And Apple's status of the apps MDM manages there: an installed app the student deleted shows as ManagedButUninstalled.
            await issue.ExecuteAsync(StaffScope.System, CommandKinds.ListManagedApps, null, new CommandTarget(chunk, null, null), Every, cancellationToken);
        }

        return due.Count;
    }

    /// <summary>
    /// Due when never asked (lately), or when the device's minute of the day has come since it was last
    /// asked and at least half a day has passed (so a late answer does not bring a second ask the same day).
    /// </summary>
    public static bool IsDue(Guid deviceId, DateTime? lastAsked, DateTime now)
    {
        if (lastAsked is not { } asked)
        {
            return true;
        }

        var slot = SlotOf(deviceId);
        var latestSlot = now.Date + slot;
        if (latestSlot > now)
        {
            latestSlot -= TimeSpan.FromDays(1);
        }

        return asked < latestSlot && now - asked >= Every / 2;
    }

    /// <summary>The device's time of day (UTC), from the random tail of its id (a version 7 id's head is a time).</summary>
    public static TimeSpan SlotOf(Guid deviceId)
    {
        Span<byte> bytes = stackalloc byte[16];
        deviceId.TryWriteBytes(bytes);
        var tail = BitConverter.ToUInt64(bytes[8..]);
        return TimeSpan.FromMinutes((double)(tail % (24 * 60)));
    }
}
