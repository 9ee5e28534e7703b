using Homeroom.Contracts.Agents;
using Homeroom.Contracts.Enrollment;
using Homeroom.Rules.Classroom;
using Homeroom.Server.Accounts;
using Homeroom.Server.Audit;
using Homeroom.Server.Commands;
using Homeroom.Server.Data;
using Homeroom.Server.Devices;
using Homeroom.Server.Hosting;
using Homeroom.Server.Roster;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace Homeroom.Server.Classroom;

public sealed record ClassSummary(Guid Id, string Name, Guid? SchoolId, int Members);

/// <summary>One tile of the classroom: a device of the class and the student it belongs to.</summary>
public sealed record ClassDevice(Guid DeviceId, string DeviceName, DevicePlatform Platform, Guid? StudentId, string StudentName);

public sealed record ClassTileDto(
    Guid DeviceId, string DeviceName, DevicePlatform Platform, Guid? StudentId, string StudentName,
    bool Online, bool Locked, string? FocusSites, string? CurrentUrl, string? CurrentTitle, DateTimeOffset? ScreenCapturedAt);

public sealed record ClassroomDto(Guid GroupId, bool InSession, DateTimeOffset? Until, string Reason, bool Viewing, IReadOnlyList<ClassTileDto> Tiles);

/// <summary>
/// The teacher's classroom, in one place for the API and the console: which classes a staff member
/// may use (a teacher only their own; others those of their school or district), whether a class is
/// in session, its students' devices (never a staff member's own device), and the actions a teacher
/// takes on them. Teachers act, watch and see what students are doing only during class (a scheduled
/// meeting, or an ad-hoc session started within the school day); ending a session ends focus mode and viewing.
/// </summary>
public sealed class Classroom(
    IDbContextFactory<HomeroomDbContext> dbFactory,
    ScreenViews views,
    IssueCommand issue,
    CommandProgress progress,
    PresenceTracker presence,
    DeviceLiveState live,
    AuditTrail audit,
    Insights.ClassUsageRecorder usage,
    IOptions<ClassroomOptions> options,
    TimeProvider time)
{
    /// <summary>The command kinds a teacher may send to their class.</summary>
    public static readonly IReadOnlySet<string> TeacherKinds = new HashSet<string>(StringComparer.Ordinal)
    {
        CommandKinds.Lock, CommandKinds.Unlock, CommandKinds.Message, CommandKinds.OpenUrl, CommandKinds.CloseTab, CommandKinds.Focus, CommandKinds.EndFocus,
    };

    /// <summary>Classroom commands live only as long as a lesson.</summary>
    public static readonly TimeSpan CommandTimeToLive = TimeSpan.FromMinutes(15);

    /// <summary>The classes this staff member may open, by name.</summary>
    public async Task<List<ClassSummary>> ClassesAsync(StaffScope scope, CancellationToken cancellationToken = default)
    {
        if (!scope.Can(Permission.UseClassroom))
        {
            return [];
        }

        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        return await scope.Groups(db).Where(g => g.Kind == GroupKind.Class && g.ArchivedAt == null).OrderBy(g => g.Name)
            .Select(g => new ClassSummary(g.Id, g.Name, g.SchoolId, db.GroupMembers.Count(m => m.GroupId == g.Id)))
            .Take(500)
            .ToListAsync(cancellationToken);
    }

    public async Task<SessionState> StateAsync(StaffScope scope, Guid groupId, CancellationToken cancellationToken = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        await EnsureMayUseAsync(scope, db, groupId, cancellationToken);
        return await ClassSchedules.StateAsync(db, groupId, time.GetUtcNow(), cancellationToken) ?? throw new NotFoundException("No such class.");
    }

    /// <summary>The class's student devices, with the student of each, by student name.</summary>
    public async Task<List<ClassDevice>> DevicesAsync(StaffScope scope, Guid groupId, CancellationToken cancellationToken = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        await EnsureMayUseAsync(scope, db, groupId, cancellationToken);
        return await DevicesAsync(db, groupId, cancellationToken);
    }

    /// <summary>
    /// The class now as its tiles show it. What each student is doing (the page they are on) shows only
    /// while the class is in session; outside class a tile shows who and whether the device is online.
    /// </summary>
    public async Task<ClassroomDto> ViewAsync(StaffScope scope, Guid groupId, CancellationToken cancellationToken = default)
    {
        var state = await StateAsync(scope, groupId, cancellationToken);
        var devices = await DevicesAsync(scope, groupId, cancellationToken);
        var tiles = devices.Select(d => Tile(d, groupId, state.InSession)).ToList();
        return new ClassroomDto(groupId, state.InSession, state.Until, state.Reason, state.InSession && devices.Any(d => views.IsViewing(groupId, d.DeviceId)), tiles);
    }

    /// <summary>One tile; the student's current page and screen only <paramref name="inSession"/>.</summary>
    public ClassTileDto Tile(ClassDevice device, Guid groupId, bool inSession)
    {
        var now = live.Get(device.DeviceId);
        return new ClassTileDto(device.DeviceId, device.DeviceName, device.Platform, device.StudentId, device.StudentName,
            presence.IsOnline(device.DeviceId), now.Locked, now.FocusSites,
            inSession ? now.CurrentUrl : null, inSession ? now.CurrentTitle : null,
            inSession ? views.CapturedAt(groupId, device.DeviceId) : null);
    }

    /// <summary>Whether the class watches this device now (on this node's knowledge, which other nodes' views reach).</summary>
    public bool Watching(Guid groupId, Guid deviceId) => views.IsViewing(groupId, deviceId);

    /// <summary>
    /// Raised with a class's id when some of its devices stopped being watched here, by whichever node stopped or ended
    /// the view (<see cref="ScreenViews.Ended"/>); an open page then looks at <see cref="Watching"/>. Handlers must be quick.
    /// </summary>
    public event Action<Guid>? ViewEnded
    {
        add => views.Ended += value;
        remove => views.Ended -= value;
    }

    /// <summary>
    /// How many of the devices a classroom command issued on this node acknowledged so far, wherever they are connected,
    /// and how many it was sent to; null once it is no longer followed (all acknowledged long ago, or issued elsewhere).
    /// </summary>
    public (int Acknowledged, int Targets)? Progress(Guid commandId) => progress.Count(commandId);

    /// <summary>Raised with a command's id when one more of its devices acknowledged it (<see cref="CommandProgress.Progressed"/>). Handlers must be quick.</summary>
    public event Action<Guid>? CommandProgressed
    {
        add => progress.Progressed += value;
        remove => progress.Progressed -= value;
    }

    /// <summary>
    /// A tile's latest screen image for a page that already holds the class (through
    /// <see cref="DevicesAsync(StaffScope, Guid, CancellationToken)"/>): the same rule as <see cref="Tile"/>,
    /// only <paramref name="inSession"/> and while the class watches the device; null otherwise.
    /// </summary>
    public Thumbnail? Screen(ClassDevice device, Guid groupId, bool inSession) =>
        inSession ? views.Latest(groupId, device.DeviceId) : null;

    /// <summary>
    /// The devices of a class's students and the class's own devices (a cart); a staff member's own devices never count.
    /// A shared device shows the student signed in on it, while there is one.
    /// </summary>
    internal static async Task<List<ClassDevice>> DevicesAsync(HomeroomDbContext db, Guid groupId, CancellationToken cancellationToken)
    {
        var devices = await db.Devices.AsNoTracking().Manageable().InGroup(db, groupId)
            .Select(d => new { d.Id, d.Name, d.Platform, PersonId = d.SignedInPersonId ?? d.AssignedPersonId })
            .Where(d => d.PersonId == null || !db.People.Any(p => p.Id == d.PersonId && p.Kind == PersonKind.Staff))
            .Select(d => new
            {
                d.Id,
                d.Name,
                d.Platform,
                d.PersonId,
                Student = db.People.Where(p => p.Id == d.PersonId).Select(p => p.GivenName + " " + p.FamilyName).FirstOrDefault(),
            })
            .ToListAsync(cancellationToken);
        return devices.Select(d => new ClassDevice(d.Id, d.Name, d.Platform, d.PersonId, d.Student ?? d.Name))
            .OrderBy(d => d.StudentName, StringComparer.OrdinalIgnoreCase).ToList();
    }

    /// <summary>Sends a classroom command to the whole class or some of its devices. Only during class.</summary>
    public async Task<IssuedCommand> CommandAsync(
        StaffScope scope, Guid groupId, string kind, IReadOnlyDictionary<string, string>? arguments, IReadOnlyList<Guid>? deviceIds,
        CancellationToken cancellationToken = default)
    {
        if (!TeacherKinds.Contains(kind))
        {
            throw new RequestValidationException(new() { ["kind"] = [$"A classroom sends one of {string.Join(", ", TeacherKinds)}."] });
        }

        List<Guid> targets;
        SessionState state;
        await using (var db = await dbFactory.CreateDbContextAsync(cancellationToken))
        {
            state = await EnsureInSessionAsync(scope, db, groupId, cancellationToken);
            var classDevices = (await DevicesAsync(db, groupId, cancellationToken)).Select(d => d.DeviceId).ToHashSet();
            if (deviceIds is { Count: > 0 } && deviceIds.Any(d => !classDevices.Contains(d)))
            {
                throw new ForbiddenException("Not in this class", "Some of these devices are not in this class.");
            }

            targets = deviceIds is { Count: > 0 } ? [.. deviceIds.Distinct()] : [.. classDevices];
        }

        if (targets.Count == 0)
        {
            throw new RequestValidationException(new() { ["target"] = ["This class has no devices."] });
        }

        // Focus mode lasts at most until the session ends.
        if (kind == CommandKinds.Focus && state.Until is { } until && arguments is not null && !arguments.ContainsKey("until"))
        {
            arguments = new Dictionary<string, string>(arguments) { ["until"] = until.ToString("O", System.Globalization.CultureInfo.InvariantCulture) };
        }

        var issued = await issue.ExecuteForClassroomAsync(scope, kind, arguments, targets, CommandTimeToLive, cancellationToken);
        await usage.AddCommandAsync(groupId, time.GetUtcNow(), cancellationToken);
        return issued;
    }

    /// <summary>Starts watching the class's screens; only during class. Returns the devices watched.</summary>
    public async Task<List<Guid>> StartViewingAsync(StaffScope scope, Guid groupId, CancellationToken cancellationToken = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var state = await EnsureInSessionAsync(scope, db, groupId, cancellationToken);
        var devices = (await DevicesAsync(db, groupId, cancellationToken)).Select(d => d.DeviceId).ToList();
        await views.StartAsync(groupId, scope.DisplayName, state.Until!.Value, devices);
        audit.Record(db, "class.screen-view.start", "group", groupId.ToString(), $"{devices.Count} devices until {state.Until:u}", await SchoolOfAsync(db, groupId, cancellationToken));
        await db.SaveChangesAsync(cancellationToken);
        return devices;
    }

    public async Task StopViewingAsync(StaffScope scope, Guid groupId, CancellationToken cancellationToken = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        await EnsureMayUseAsync(scope, db, groupId, cancellationToken);
        await views.StopAsync(groupId);
        audit.Record(db, "class.screen-view.stop", "group", groupId.ToString(), null, await SchoolOfAsync(db, groupId, cancellationToken));
        await db.SaveChangesAsync(cancellationToken);
    }

    /// <summary>The class's devices being watched now, with when each was last captured (empty outside class).</summary>
    public async Task<List<(Guid DeviceId, DateTimeOffset? CapturedAt)>> ScreensAsync(StaffScope scope, Guid groupId, CancellationToken cancellationToken = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        await EnsureMayUseAsync(scope, db, groupId, cancellationToken);
        var devices = (await DevicesAsync(db, groupId, cancellationToken)).Select(d => d.DeviceId);
        return devices.Where(d => views.IsViewing(groupId, d)).Select(d => (d, views.CapturedAt(groupId, d))).ToList();
    }

    /// <summary>A class device's latest screen image while it is watched; null when there is none.</summary>
    public async Task<Thumbnail?> ScreenAsync(StaffScope scope, Guid groupId, Guid deviceId, CancellationToken cancellationToken = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        await EnsureMayUseAsync(scope, db, groupId, cancellationToken);
        return await views.LatestAsync(groupId, deviceId, cancellationToken);
    }

    /// <summary>
    /// Starts an ad-hoc session of 1 to 120 minutes, only within the school day (and never past its
    /// end); audited, and listed for the school's administrators.
    /// </summary>
    public async Task<SessionState> StartSessionAsync(StaffScope scope, Guid groupId, int minutes, CancellationToken cancellationToken = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        await EnsureMayUseAsync(scope, db, groupId, cancellationToken);
        var group = await db.Groups.AsNoTracking().FirstAsync(g => g.Id == groupId, cancellationToken);
        var validation = new Validation().Range("minutes", minutes, 1, (int)ClassSessions.MaxAdHoc.TotalMinutes)
            .Check(group.Kind == GroupKind.Class, "group", "Only a class has sessions.");
        if (!validation.IsValid)
        {
            throw new RequestValidationException(validation.Errors);
        }

        var now = time.GetUtcNow();
        var zone = await ClassSchedules.TimeZoneOfAsync(db, group.SchoolId, cancellationToken);
        var day = options.Value.ToSchoolDay();
        if (ClassSessions.AdHocEnd(day, now, TimeSpan.FromMinutes(minutes), zone) is not { } end)
        {
            throw new ForbiddenException("Outside the school day",
                $"Ad-hoc sessions can be started on school days between {day.Start:HH\\:mm} and {day.End:HH\\:mm}, school time.");
        }

        db.ClassSessions.Add(new ClassSessionRecord { Id = Guid.CreateVersion7(), GroupId = groupId, StartsAt = now.UtcDateTime, EndsAt = end.UtcDateTime, StartedBy = scope.Username });
        audit.Record(db, "class.session.start", "group", groupId.ToString(), $"{minutes} minutes asked, until {end:u}", group.SchoolId);
        await db.SaveChangesAsync(cancellationToken);
        return (await ClassSchedules.StateAsync(db, groupId, now, cancellationToken))!;
    }

    /// <summary>
    /// Ends the session now: viewing stops, focus mode ends, and an ad-hoc session is closed. Every
    /// check comes first, so a refusal changes nothing.
    /// </summary>
    public async Task EndSessionAsync(StaffScope scope, Guid groupId, CancellationToken cancellationToken = default)
    {
        List<Guid> devices;
        await using (var db = await dbFactory.CreateDbContextAsync(cancellationToken))
        {
            await EnsureMayUseAsync(scope, db, groupId, cancellationToken);
            var classDevices = (await DevicesAsync(db, groupId, cancellationToken)).Select(d => d.DeviceId).ToList();
            var reachable = await scope.Devices(db).Manageable().Where(d => classDevices.Contains(d.Id)).Select(d => d.Id).ToListAsync(cancellationToken);
            devices = reachable;
            var now = time.GetUtcNow().UtcDateTime;
            await db.ClassSessions.Where(s => s.GroupId == groupId && s.EndsAt > now && s.StartsAt <= now)
                .ExecuteUpdateAsync(s => s.SetProperty(x => x.EndsAt, now), cancellationToken);
            audit.Record(db, "class.session.end", "group", groupId.ToString(), null, await SchoolOfAsync(db, groupId, cancellationToken));
            await db.SaveChangesAsync(cancellationToken);
        }

        await views.StopAsync(groupId);
        if (devices.Count > 0)
        {
            await issue.ExecuteForClassroomAsync(scope, CommandKinds.EndFocus, null, devices, CommandTimeToLive, cancellationToken);
        }
    }

    private static Task<Guid?> SchoolOfAsync(HomeroomDbContext db, Guid groupId, CancellationToken cancellationToken) =>
        db.Groups.Where(g => g.Id == groupId).Select(g => g.SchoolId).FirstOrDefaultAsync(cancellationToken);

    private static async Task EnsureMayUseAsync(StaffScope scope, HomeroomDbContext db, Guid groupId, CancellationToken cancellationToken)
    {
        if (!scope.Can(Permission.UseClassroom))
        {
            throw new ForbiddenException("Forbidden", "Your role does not use classrooms.");
        }

        if (!await scope.Groups(db).AnyAsync(g => g.Id == groupId, cancellationToken))
        {
            throw new NotFoundException("No such class.");
        }
    }

    private async Task<SessionState> EnsureInSessionAsync(StaffScope scope, HomeroomDbContext db, Guid groupId, CancellationToken cancellationToken)
    {
        await EnsureMayUseAsync(scope, db, groupId, cancellationToken);
        var state = await ClassSchedules.StateAsync(db, groupId, time.GetUtcNow(), cancellationToken) ?? throw new NotFoundException("No such class.");
        if (!state.InSession || state.Until is null)
        {
            throw new ForbiddenException("The class is not in session", $"Only during class: {state.Reason}.");
        }

        return state;
    }
}
