using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Homeroom.Server.Apple;
using Homeroom.Server.Data;
using Homeroom.Server.Hosting;
using Homeroom.Server.Hosting.Cluster;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace Homeroom.Server.AppleSchoolManager;

/// <summary>What one sync did, or why it stopped (<see cref="Error"/>; what it stored before stays stored).</summary>
public sealed record AdeSyncResult(bool FullFetch, int Pages, int Added, int Modified, int Deleted, int Assigned, int AssignFailed, string? Error);

/// <summary>
/// Brings the district's automated-enrollment devices from Apple and gives each the enrollment
/// profile. The first run (and any run after Apple says the cursor expired) fetches every device page
/// by page; later runs sync the changes since the stored cursor. Every page is stored with its cursor
/// before the next is asked for, so a rate limit or outage part-way loses nothing: the next run goes on
/// from there. Changes are applied in order of Apple's op_date per serial number (Apple may report a
/// device more than once). Then the enrollment profile is defined at Apple when it is new or its
/// settings changed, and assigned to every device that does not have it yet.
/// </summary>
public sealed class AdeSync(
    IDbContextFactory<HomeroomDbContext> dbFactory,
    DeviceAssignmentClient client,
    AsmTokenVault vault,
    IOptions<AppleSchoolManagerOptions> options,
    IOptions<AppleOptions> apple,
    TimeProvider time,
    ILogger<AdeSync> logger)
{
    /// <summary>The path of the enrollment endpoint the profile points devices to.</summary>
    public const string EnrollPath = "/mdm/ade/enroll";

    /// <summary>Apple keeps a sync cursor for 7 days; an older one starts a full fetch without asking.</summary>
    public static readonly TimeSpan CursorLifetime = TimeSpan.FromDays(7);

    /// <summary>Devices Apple reported deleted are kept this long, then removed.</summary>
    public static readonly TimeSpan DeletedRetention = TimeSpan.FromDays(30);

    private const string FetchPrefix = "fetch:";
    private readonly SemaphoreSlim _running = new(1, 1);

    /// <summary>Runs one sync; null when no server token is stored. One run at a time.</summary>
    public async Task<AdeSyncResult?> RunAsync(CancellationToken cancellationToken)
    {
        await _running.WaitAsync(cancellationToken);
        try
        {
            return await RunOnceAsync(cancellationToken);
        }
        finally
        {
            _running.Release();
        }
    }

    private async Task<AdeSyncResult?> RunOnceAsync(CancellationToken cancellationToken)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var settings = await db.Set<AsmSettings>().Where(s => s.Id == AsmSettings.SingletonId).FirstOrDefaultAsync(cancellationToken);
        if (settings?.ServerToken is null)
        {
            return null;
        }

        var now = time.GetUtcNow().UtcDateTime;
        var token = vault.Unprotect<ServerToken>(settings.ServerToken);
        var progress = new Progress();
        try
        {
            if (token.ExpiresAt <= now)
            {
                throw new AppleServiceException(AppleFailure.Unauthorized, $"The server token expired on {token.ExpiresAt:yyyy-MM-dd}; upload a new one.");
            }

            await DevicesAsync(db, settings, token, progress, cancellationToken);
            await ProfileAsync(db, settings, token, progress, cancellationToken);
            settings.LastSyncError = null;
        }
        catch (AppleServiceException e)
        {
            AppleSchoolManagerLog.SyncStopped(logger, e.Failure, e.Message);
            settings.LastSyncError = e.Message;
        }

        settings.LastSyncAt = time.GetUtcNow().UtcDateTime;
        await db.Set<AdeDevice>().Where(d => d.OpType == "deleted" && d.UpdatedAt < now - DeletedRetention).ExecuteDeleteAsync(cancellationToken);
        await db.SaveChangesAsync(cancellationToken);
        return new AdeSyncResult(progress.FullFetch, progress.Pages, progress.Added, progress.Modified, progress.Deleted, progress.Assigned, progress.AssignFailed, settings.LastSyncError);
    }

    private sealed class Progress
    {
        public bool FullFetch { get; set; }
        public int Pages { get; set; }
        public int Added { get; set; }
        public int Modified { get; set; }
        public int Deleted { get; set; }
        public int Assigned { get; set; }
        public int AssignFailed { get; set; }
    }

    private async Task DevicesAsync(HomeroomDbContext db, AsmSettings settings, ServerToken token, Progress progress, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow().UtcDateTime;
        // A cursor "fetch:..." is a full fetch under way (or not begun, "fetch:"); any other is a sync cursor.
        if (settings.Cursor is null || (!settings.Cursor.StartsWith(FetchPrefix, StringComparison.Ordinal) && settings.CursorAt < now - CursorLifetime))
        {
            settings.Cursor = FetchPrefix;
        }

        if (!settings.Cursor.StartsWith(FetchPrefix, StringComparison.Ordinal))
        {
            try
            {
                bool more;
                do
                {
                    var page = await client.SyncAsync(token, settings.Cursor, cancellationToken);
                    more = await StorePageAsync(db, settings, page, fetch: false, progress, cancellationToken);
                }
                while (more);
                return;
            }
            catch (AppleServiceException e) when (e.Failure == AppleFailure.ExpiredCursor)
            {
                AppleSchoolManagerLog.CursorExpired(logger, e.Code ?? "");
                settings.Cursor = FetchPrefix;
                await db.SaveChangesAsync(cancellationToken);
            }
        }

        progress.FullFetch = true;
        bool morePages;
        do
        {
            var cursor = settings.Cursor![FetchPrefix.Length..];
            var page = await client.FetchAsync(token, cursor.Length == 0 ? null : cursor, cancellationToken);
            morePages = await StorePageAsync(db, settings, page, fetch: true, progress, cancellationToken);
        }
        while (morePages);
    }

    /// <summary>Stores one page and its cursor together; true when Apple has more.</summary>
    private async Task<bool> StorePageAsync(HomeroomDbContext db, AsmSettings settings, AppleDevicePage page, bool fetch, Progress progress, CancellationToken cancellationToken)
    {
        if (page.Cursor is not { Length: > 0 and <= 4096 } cursor)
        {
            throw new AppleServiceException(AppleFailure.Malformed, "Apple's device page has no cursor.");
        }

        var now = time.GetUtcNow().UtcDateTime;
        var devices = (page.Devices ?? [])
            .Where(d => d.SerialNumber is { Length: > 0 and <= 64 })
            .OrderBy(d => d.OpDate ?? DateTime.MinValue)
            .ToList();
        var serials = devices.Select(d => d.SerialNumber!).Distinct(StringComparer.Ordinal).ToList();
        var known = await db.Set<AdeDevice>().Where(d => serials.Contains(d.Serial)).ToDictionaryAsync(d => d.Serial, StringComparer.Ordinal, cancellationToken);
        foreach (var device in devices)
        {
            var op = fetch ? "added" : OpType(device.OpType);
            if (!known.TryGetValue(device.SerialNumber!, out var row))
            {
                row = new AdeDevice { Serial = device.SerialNumber!, ProfileStatus = "empty", OpType = op };
                db.Set<AdeDevice>().Add(row);
                known[row.Serial] = row;
            }
            else if (row.OpDate is { } stored && device.OpDate is { } reported && reported < stored)
            {
                continue; // an older report of a change already applied
            }

            row.Model = Clip(device.Model) ?? row.Model;
            row.Description = Clip(device.Description) ?? row.Description;
            row.Color = Clip(device.Color) ?? row.Color;
            row.DeviceFamily = Clip(device.DeviceFamily) ?? row.DeviceFamily;
            row.Os = Clip(device.Os) ?? row.Os;
            row.ProfileStatus = Clip(device.ProfileStatus)?.ToLowerInvariant() ?? row.ProfileStatus;
            row.ProfileUuid = device.ProfileUuid is null ? row.ProfileUuid : Clip(device.ProfileUuid);
            row.ProfileAssignedAt = device.ProfileAssignTime ?? row.ProfileAssignedAt;
            row.DeviceAssignedAt = device.DeviceAssignedDate ?? row.DeviceAssignedAt;
            row.OpType = op;
            row.OpDate = device.OpDate ?? row.OpDate;
            row.AssignError = null; // a change at Apple (a device moved back to this server) earns a new attempt
            row.UpdatedAt = now;
            switch (op)
            {
                case "added": progress.Added++; break;
                case "deleted": progress.Deleted++; break;
                default: progress.Modified++; break;
            }
        }

        settings.Cursor = fetch && page.MoreToFollow ? FetchPrefix + cursor : cursor;
        settings.CursorAt = now;
        progress.Pages++;
        await db.SaveChangesAsync(cancellationToken);
        return page.MoreToFollow;
    }

    private async Task ProfileAsync(HomeroomDbContext db, AsmSettings settings, ServerToken token, Progress progress, CancellationToken cancellationToken)
    {
        if (apple.Value.PublicUrl is not { Length: > 0 } publicUrl)
        {
            throw new AppleServiceException(AppleFailure.Refused, "Set Homeroom:Apple:PublicUrl (the https address devices reach this server at): the enrollment profile Apple gives devices points there.");
        }

        var settingsNow = options.Value;
        var profile = new AppleDepProfile(settingsNow.ProfileName, publicUrl.TrimEnd('/') + EnrollPath, IsSupervised: true, settingsNow.IsMandatory, IsMdmRemovable: false,
            settingsNow.AwaitDeviceConfigured, settingsNow.Department, settingsNow.SupportPhoneNumber, settingsNow.SkipSetupItemList());
        var hash = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(JsonSerializer.Serialize(profile))));
        if (settings.ProfileUuid is null || settings.ProfileHash != hash)
        {
            settings.ProfileUuid = await client.DefineProfileAsync(token, profile, cancellationToken);
            settings.ProfileHash = hash;
            await db.SaveChangesAsync(cancellationToken);
            AppleSchoolManagerLog.ProfileDefined(logger, settings.ProfileUuid);
        }

        var uuid = settings.ProfileUuid;
        while (true)
        {
            var batch = await db.Set<AdeDevice>()
                .Where(d => d.OpType != "deleted" && (d.ProfileUuid == null || d.ProfileUuid != uuid) && d.AssignError == null)
                .OrderBy(d => d.Serial).Take(options.Value.PageSize).ToListAsync(cancellationToken);
            if (batch.Count == 0)
            {
                break;
            }

            var results = await client.AssignProfileAsync(token, uuid, batch.Select(d => d.Serial).ToList(), cancellationToken);
            var now = time.GetUtcNow().UtcDateTime;
            foreach (var device in batch)
            {
                var result = results.GetValueOrDefault(device.Serial) ?? "FAILED";
                if (result == "SUCCESS")
                {
                    device.ProfileUuid = uuid;
                    device.ProfileStatus = "assigned";
                    device.ProfileAssignedAt = now;
                    progress.Assigned++;
                }
                else
                {
                    // Not retried until Apple reports a change of the device (NOT_ACCESSIBLE: assigned to another server).
                    device.AssignError = Clip(result);
                    progress.AssignFailed++;
                }

                device.UpdatedAt = now;
            }

            await db.SaveChangesAsync(cancellationToken);
        }
    }

    private static string OpType(string? reported) => reported?.ToLowerInvariant() switch
    {
        "added" => "added",
        "deleted" => "deleted",
        _ => "modified",
    };

    private static string? Clip(string? value) => value is null ? null : value.Length <= 200 ? value : value[..200];
}

/// <summary>
/// Runs <see cref="AdeSync"/> every <see cref="AppleSchoolManagerOptions.SyncInterval"/>, and the licence count refresh every
/// <see cref="AppleSchoolManagerOptions.LicenceSyncInterval"/>: once per cluster, under a lease (<see cref="PeriodicTask"/>),
/// since every node would otherwise ask Apple for the same devices and licences.
/// </summary>
public sealed class AppleSchoolManagerSchedule(
    AdeSync sync, AppsAndBooksLicenceSync licences, IOptions<AppleSchoolManagerOptions> options, JobLeases leases, TimeProvider time, ILogger<AppleSchoolManagerSchedule> logger)
    : PeriodicTask(options.Value.SyncInterval, leases, time, logger)
{
    private readonly TaskCompletionSource _firstPass = new(TaskCreationOptions.RunContinuationsAsynchronously);

    // In this node's memory: a node that takes the lease over refreshes the licence counts at its first run.
    private DateTimeOffset _nextLicences = DateTimeOffset.MinValue;

    /// <summary>Completes when the first tick has ended (run here, or skipped because another node holds the job, or failed), so a caller's own sync never races it.</summary>
    public Task FirstPass => _firstPass.Task;

    protected override async Task RunOnceAsync(CancellationToken cancellationToken)
    {
        try
        {
            await sync.RunAsync(cancellationToken);
            if (Time.GetUtcNow() >= _nextLicences)
            {
                await licences.RunAsync(cancellationToken);
                _nextLicences = Time.GetUtcNow() + options.Value.LicenceSyncInterval;
            }
        }
        catch (Exception e) when (e is DbUpdateException or InvalidOperationException or System.Data.Common.DbException or System.Security.Cryptography.CryptographicException)
        {
            AppleSchoolManagerLog.ScheduleFailed(Logger, e);
        }
        finally
        {
            _firstPass.TrySetResult();
        }
    }

    protected override Task RunOnThisNodeAsync(CancellationToken cancellationToken)
    {
        _firstPass.TrySetResult(); // also when another node ran it
        return Task.CompletedTask;
    }
}
